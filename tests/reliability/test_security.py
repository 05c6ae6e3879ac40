"""Security checks over the whole API, driven by its OpenAPI document so that new routes are
covered: the IDOR matrix over every route that takes an id, and the headers of every answer."""

import os
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import Role, User
from app.jobs.models import Job
from app.oauth.models import UserIdentity
from app.passkeys.models import Passkey
from tests.conftest import REPO_ROOT
from tests.live import LiveServerFactory
from tests.users.factories import DEFAULT_PASSWORD, signed_in

# Ids in paths (`{item_id}`); a provider's `{name}` names no one's resource.
PATH_PARAMETER = re.compile(r"\{(\w+_id)\}")
# Answers another user gets for someone else's resource: it does not exist for them, or (any
# route naming a user or a role) the route needs a permission the `user` role does not grant.
NOT_YOURS = {
    "item_id": 404,
    "session_id": 404,
    "key_id": 404,
    "identity_id": 404,
    "user_id": 403,
    "role_id": 403,
    "job_id": 403,
    "webhook_id": 404,
    "delivery_id": 404,
    "passkey_id": 404,
}

# Writes whose schema needs a field: a valid body, so the lookup (not validation) answers.
WRITE_BODIES: dict[str, dict[str, Any]] = {"passkey_id": {"name": "theirs"}}

Resource = Callable[[AsyncClient, AsyncSession, User, dict[str, str]], Awaitable[str]]


async def own_item(
    client: AsyncClient, _session: AsyncSession, _user: User, headers: dict[str, str]
) -> str:
    response = await client.post("/api/v1/items", json={"title": "mine"}, headers=headers)
    return str(response.json()["id"])


async def own_session(
    client: AsyncClient, _session: AsyncSession, _user: User, headers: dict[str, str]
) -> str:
    (session, *_) = (await client.get("/api/v1/auth/sessions", headers=headers)).json()
    return str(session["id"])


async def own_key(
    client: AsyncClient, _session: AsyncSession, _user: User, headers: dict[str, str]
) -> str:
    body = {"name": "mine", "scopes": ["items:read"], "current_password": DEFAULT_PASSWORD}
    response = await client.post("/api/v1/auth/api-keys", json=body, headers=headers)
    return str(response.json()["id"])


async def own_identity(
    _client: AsyncClient, session: AsyncSession, user: User, _headers: dict[str, str]
) -> str:
    identity = UserIdentity(user_id=user.id, provider="test", subject=uuid.uuid4().hex)
    session.add(identity)
    await session.flush()
    return str(identity.id)


async def own_user(
    _client: AsyncClient, _session: AsyncSession, user: User, _headers: dict[str, str]
) -> str:
    return str(user.id)


async def held_role(
    _client: AsyncClient, session: AsyncSession, _user: User, _headers: dict[str, str]
) -> str:
    return str(await session.scalar(select(Role.id).where(Role.name == "user")))


async def a_job(
    _client: AsyncClient, session: AsyncSession, _user: User, _headers: dict[str, str]
) -> str:
    """Jobs are the system's: only `jobs:admin` reaches them."""
    job = Job(name="tests.work", queue="default", payload={}, max_attempts=1)
    session.add(job)
    await session.flush()
    return str(job.id)


async def own_webhook(
    client: AsyncClient, _session: AsyncSession, _user: User, headers: dict[str, str]
) -> str:
    body = {"url": "https://example.com/hook", "events": ["item.created"]}
    response = await client.post("/api/v1/webhooks", json=body, headers=headers)
    return str(response.json()["id"])


async def own_delivery(
    client: AsyncClient, session: AsyncSession, user: User, headers: dict[str, str]
) -> str:
    webhook = await own_webhook(client, session, user, headers)
    response = await client.post(f"/api/v1/webhooks/{webhook}/test", headers=headers)
    return str(response.json()["id"])


async def own_passkey(
    _client: AsyncClient, session: AsyncSession, user: User, _headers: dict[str, str]
) -> str:
    """A stored public key is all the routes by id read: no device needed."""
    passkey = Passkey(
        user_id=user.id, credential_id=os.urandom(16), public_key=os.urandom(77), name="mine"
    )
    session.add(passkey)
    await session.flush()
    return str(passkey.id)


RESOURCES: dict[str, Resource] = {
    "item_id": own_item,
    "session_id": own_session,
    "key_id": own_key,
    "identity_id": own_identity,
    "user_id": own_user,
    "role_id": held_role,
    "job_id": a_job,
    "webhook_id": own_webhook,
    "delivery_id": own_delivery,
    "passkey_id": own_passkey,
}


def id_routes(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path, parameter) for every operation whose path takes an id, but those inside
    an organisation: their matrix is `tests/orgs/test_isolation.py` (to anyone else, the
    organisation itself does not exist)."""
    return [
        (method.upper(), path, parameter)
        for path, operations in app.openapi()["paths"].items()
        if not path.startswith("/api/v1/orgs/{org_id}")
        for method in operations
        for parameter in PATH_PARAMETER.findall(path)
    ]


def scaffolded_with_ownership_tests(parameter: str) -> bool:
    """Entities made by `app new entity` carry their own IDOR tests (`TestOwnership`)."""
    singular = parameter.removesuffix("_id")
    return any(
        "class TestOwnership" in module.read_text()
        for module in (REPO_ROOT / "tests").glob(f"{singular}*/test_router.py")
    )


def test_every_id_parameter_is_covered(app: FastAPI) -> None:
    uncovered = {
        parameter
        for _method, _path, parameter in id_routes(app)
        if parameter not in RESOURCES and not scaffolded_with_ownership_tests(parameter)
    }

    assert not uncovered, f"add an IDOR resource for {sorted(uncovered)}"


async def test_idor_matrix(client: AsyncClient, session: AsyncSession, app: FastAPI) -> None:
    owner, owner_headers = await signed_in(client, session)
    _intruder, intruder_headers = await signed_in(client, session)
    answers: dict[str, int] = {}

    for method, path, parameter in id_routes(app):
        if parameter not in RESOURCES:
            continue
        concrete = path
        for name in PATH_PARAMETER.findall(path):
            resource_id = await RESOURCES[name](client, session, owner, owner_headers)
            concrete = concrete.replace(f"{{{name}}}", resource_id)
        body = WRITE_BODIES.get(parameter, {}) if method in {"PATCH", "PUT"} else None
        response = await client.request(method, concrete, json=body, headers=intruder_headers)
        answers[f"{method} {path}"] = response.status_code
        # The permission check (403) comes before any lookup (404).
        expected = min(NOT_YOURS[name] for name in PATH_PARAMETER.findall(path))
        assert response.status_code == expected, f"{method} {path}"

    # The owner's things are untouched: their session still works, their items are all there.
    assert (await client.get("/api/v1/users/me", headers=owner_headers)).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=owner_headers)).json()["roles"] == ["user"]
    items = (await client.get("/api/v1/items", headers=owner_headers)).json()
    item_routes = [path for _, path, parameter in id_routes(app) if parameter == "item_id"]
    assert items["total"] == len(item_routes)
    assert all(item["version"] == 1 for item in items["items"])
    assert len(answers) >= 8


def test_headers_of_every_answer(live_server: LiveServerFactory, fresh_database_url: str) -> None:
    """Every operation, answered without credentials by a real server: nosniff everywhere,
    no-store on the API, no `Server` header."""
    server = live_server(fresh_database_url)
    schema = httpx.get(f"{server.base_url}/openapi.json").json()
    checked = 0
    with httpx.Client(base_url=server.base_url) as http:
        for path, operations in schema["paths"].items():
            concrete = PATH_PARAMETER.sub("00000000-0000-4000-8000-000000000000", path)
            for method in operations:
                response = http.request(method.upper(), concrete)
                assert_secure_headers(path, response)
                checked += 1
        for extra in ("/nowhere", "/api/v1/nowhere", "/docs"):
            assert_secure_headers(extra, http.get(extra))

    assert checked == sum(len(operations) for operations in schema["paths"].values())


def assert_secure_headers(path: str, response: httpx.Response) -> None:
    assert response.headers.get("x-content-type-options") == "nosniff", path
    assert "server" not in response.headers, path
    if path.startswith("/api/"):
        assert response.headers.get("cache-control") == "no-store", path


def test_every_error_response_is_declared_with_the_envelope(app: FastAPI) -> None:
    schema = app.openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            errors = {code: body for code, body in responses.items() if code[0] in "45"}
            where = f"{method.upper()} {path}"
            # Any route can meet the host check, the body limit and a crash; any /api route
            # invalid input and an outage (its database).
            expected = {"400", "413", "500"}
            expected |= {"422", "503"} if path.startswith("/api/") else set()
            if operation.get("security"):
                expected.add("401")
            assert expected <= errors.keys(), where
            for code, body in errors.items():
                reference = body["content"]["application/json"]["schema"]["$ref"]
                assert reference == "#/components/schemas/ErrorBody", f"{where} {code}"
