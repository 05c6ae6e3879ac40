"""Every operation of the OpenAPI document against the permission it declares: a caller who
holds every other permission is refused with 403 `PERMISSION_DENIED`, one who holds only that
permission gets past the check, and an API key scoped to every `:read` permission passes the
reading routes only. A new route that declares no permission fails here. Routes inside an
organisation (`/orgs/{org_id}/…`) declare an organisation permission; their matrix is
`tests/orgs/test_isolation.py`."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.permissions import declared
from app.main import create_app
from tests.api_keys.factories import api_key
from tests.roles.factories import create_role
from tests.users.factories import signed_in

# Open to anyone: creating an account, signing in (and its second step), completing what a
# mailed token allows, and the probes and metrics of operations.
PUBLIC = {
    "register",
    "login",
    "login_form",
    "login_with_factor",
    "passkey_login_options",
    "passkey_login",
    "request_password_reset",
    "reset_password",
    "verify_email",
    "change_email",
    "cancel_email_change",
    "list_oauth_providers",
    "authorize_oauth",
    "oauth_callback",
    "exchange_login_code",
    "health_live",
    "health_ready",
    "metrics",
}
# Any signed-in session, whatever its roles: ending one's own sessions is never refused.
SIGNED_IN = {"logout", "logout_all"}
# Any member of the organisation: leaving it is never refused.
ANY_MEMBER = {"remove_member"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = create_app().openapi()
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def in_org(path: str) -> bool:
    return path.startswith("/api/v1/orgs/{org_id}")


def scopes(operation: dict[str, Any]) -> list[str] | None:
    """The permissions an operation's security requirement lists; None when it has none."""
    requirements = operation.get("security")
    if requirements is None:
        return None
    return sorted(
        {scope for requirement in requirements for scope in next(iter(requirement.values()))}
    )


OPERATIONS = operations()
GUARDED = [
    pytest.param(method, path, required[0], id=operation["operationId"])
    for method, path, operation in OPERATIONS
    if (required := scopes(operation)) and not in_org(path)
]


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [pytest.param(*entry, id=entry[2]["operationId"]) for entry in OPERATIONS],
)
def test_every_operation_declares_one_permission(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    needed = scopes(operation)
    if operation["operationId"] in PUBLIC:
        assert needed is None
    elif operation["operationId"] in SIGNED_IN | ANY_MEMBER:
        assert needed == []
        assert in_org(path) == (operation["operationId"] in ANY_MEMBER)
    else:
        assert needed, f"{method} {path} declares no permission"
        assert len(needed) == 1
        assert needed[0] in declared(org=in_org(path))
        assert f"`{needed[0]}`" in operation["description"]
        assert "PERMISSION_DENIED" in operation["responses"]["403"]["description"]


def test_the_matrix_covers_every_declared_permission() -> None:
    assert {param.values[2] for param in GUARDED} == set(declared())


def _fill(path: str) -> str:
    parts = path.split("/")
    return "/".join(str(uuid.uuid4()) if part.startswith("{") else part for part in parts)


@pytest.mark.parametrize(("method", "path", "permission"), GUARDED)
async def test_without_the_permission_the_answer_is_403(
    client: AsyncClient, session: AsyncSession, method: str, path: str, permission: str
) -> None:
    others = await create_role(session, *(name for name in declared() if name != permission))
    _user, headers = await signed_in(client, session, roles=(others.name,))

    response = await client.request(method, _fill(path), json={}, headers=headers)

    assert response.status_code == 403, response.text
    assert response.json() == {
        **response.json(),
        "error_code": "PERMISSION_DENIED",
        "detail": f"Missing permission: {permission}",
    }


@pytest.mark.parametrize(("method", "path", "permission"), GUARDED)
async def test_with_only_the_permission_the_check_passes(
    client: AsyncClient, session: AsyncSession, method: str, path: str, permission: str
) -> None:
    only = await create_role(session, permission)
    _user, headers = await signed_in(client, session, roles=(only.name,))

    response = await client.request(method, _fill(path), json={}, headers=headers)

    assert response.status_code < 500, response.text
    if response.status_code == 403:
        assert response.json()["error_code"] != "PERMISSION_DENIED"


READS = sorted(name for name, permission in declared().items() if name.endswith(":read"))


@pytest.mark.parametrize(("method", "path", "permission"), GUARDED)
async def test_a_read_only_api_key_reads_and_never_writes(
    client: AsyncClient, session: AsyncSession, method: str, path: str, permission: str
) -> None:
    everything = await create_role(session, *declared())
    owner = await signed_in(client, session, roles=(everything.name,))
    key = await api_key(client, owner, *READS)

    response = await client.request(method, _fill(path), json={}, headers=key)

    assert response.status_code < 500, response.text
    if permission in READS:
        assert response.status_code != 403 or response.json()["error_code"] != "PERMISSION_DENIED"
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error_code"] == "PERMISSION_DENIED"
