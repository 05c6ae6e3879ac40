"""The isolation matrix, driven by the OpenAPI document: every operation inside an
organisation (`/orgs/{org_id}/…`) tried by a member of another organisation, by an outsider and by
another organisation's API key holding every permission there (404 all: the organisation's
existence is not revealed), and by a member without the permission it declares (403
`PERMISSION_DENIED`). A new route inside an organisation joins the
matrix by existing; one that forgets `require_org` fails it."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.permissions import declared
from app.main import create_app
from tests.orgs.factories import ORGS, member, new_org
from tests.users.factories import SignedIn, bearer, signed_in

IN_ORG = "/api/v1/orgs/{org_id}"
# Open to every member whatever their roles: leaving.
ANY_MEMBER = {"remove_member"}


def operations() -> list[tuple[str, str, str, list[str]]]:
    document = create_app().openapi()
    return [
        (method.upper(), path, operation["operationId"], _scopes(operation))
        for path, methods in document["paths"].items()
        if path.startswith(IN_ORG)
        for method, operation in methods.items()
    ]


def _scopes(operation: dict[str, Any]) -> list[str]:
    return sorted(
        {
            scope
            for requirement in operation.get("security", ())
            for s in requirement.values()
            for scope in s
        }
    )


OPERATIONS = operations()
CASES = [
    pytest.param(method, path, scopes, id=operation_id)
    for method, path, operation_id, scopes in OPERATIONS
]


def _fill(path: str, org_id: str) -> str:
    parts = path.replace("{org_id}", org_id).split("/")
    return "/".join(str(uuid.uuid4()) if part.startswith("{") else part for part in parts)


@pytest.fixture
async def org(client: AsyncClient, session: AsyncSession) -> str:
    owner = await signed_in(client, session)
    return str((await new_org(client, owner))["id"])


async def _request(
    client: AsyncClient, caller: SignedIn, method: str, path: str, org: str
) -> tuple[int, dict[str, Any]]:
    response = await client.request(method, _fill(path, org), json={}, headers=caller.headers)
    return response.status_code, response.json() if response.content else {}


def test_the_matrix_covers_the_organisation_routes() -> None:
    names = {operation_id for _, _, operation_id, _ in OPERATIONS}
    assert {"get_org", "update_org", "delete_org", "list_members", "update_member"} <= names
    assert {"list_projects", "get_project", "create_project", "bulk_upsert_projects"} <= names
    for _, path, operation_id, scopes in OPERATIONS:
        assert scopes or operation_id in ANY_MEMBER, f"{path} declares no permission"


@pytest.mark.parametrize(("method", "path", "scopes"), CASES)
async def test_a_member_of_another_organisation_gets_404(
    client: AsyncClient, session: AsyncSession, org: str, method: str, path: str, scopes: list[str]
) -> None:
    stranger = await signed_in(client, session)
    await new_org(client, stranger)  # its owner: every permission, elsewhere

    status, body = await _request(client, stranger, method, path, org)

    assert (status, body.get("detail")) == (404, "Organisation not found")


@pytest.mark.parametrize(("method", "path", "scopes"), CASES)
async def test_an_outsider_gets_404(
    client: AsyncClient, session: AsyncSession, org: str, method: str, path: str, scopes: list[str]
) -> None:
    outsider = await signed_in(client, session)

    status, body = await _request(client, outsider, method, path, org)

    assert (status, body.get("detail")) == (404, "Organisation not found")


@pytest.mark.parametrize(("method", "path", "scopes"), CASES)
async def test_a_key_of_another_organisation_gets_404(
    client: AsyncClient, session: AsyncSession, org: str, method: str, path: str, scopes: list[str]
) -> None:
    stranger = await signed_in(client, session)
    elsewhere = await new_org(client, stranger)
    every = sorted(declared(org=True))
    created = await client.post(
        f"{ORGS}/{elsewhere['id']}/api-keys",
        json={"name": "elsewhere", "scopes": every},
        headers=stranger.headers,
    )
    key = SignedIn(stranger.user, bearer(created.json()["key"]))

    status, body = await _request(client, key, method, path, org)

    assert (status, body.get("detail")) == (404, "Organisation not found")


@pytest.mark.parametrize(("method", "path", "scopes"), CASES)
async def test_a_member_without_the_permission_gets_403(
    client: AsyncClient, session: AsyncSession, org: str, method: str, path: str, scopes: list[str]
) -> None:
    powerless = await member(client, session, org)

    status, body = await _request(client, powerless, method, path, org)

    if scopes:
        assert status == 403, body
        assert body["error_code"] == "PERMISSION_DENIED"
        assert body["detail"] == f"Missing permission: {scopes[0]}"
    else:
        assert status != 403, body
