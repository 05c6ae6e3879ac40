"""Step-up: sensitive acts need a sign-in or `POST /auth/reauth` within `REAUTH_WINDOW` (10
minutes); the password or an authenticator code refreshes it for the session."""

import pytest
from httpx import AsyncClient

from tests.assertions import assert_error
from tests.factors.conftest import TOTP, Clock, Database, Enrolled, mfa_token
from tests.orgs.factories import join
from tests.users.factories import DEFAULT_PASSWORD, bearer, login, unique_email

REAUTH = "/api/v1/auth/reauth"
PAST_THE_WINDOW = 10 * 60 + 1

SENSITIVE = [
    (
        "/api/v1/auth/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": "a new secret"},
    ),
    (
        "/api/v1/auth/api-keys",
        {"name": "ci", "scopes": ["items:read"], "current_password": DEFAULT_PASSWORD},
    ),
    ("/api/v1/users/me/email", {"new_email": "", "current_password": DEFAULT_PASSWORD}),
]


@pytest.mark.parametrize(("path", "body"), SENSITIVE, ids=["password", "api key", "email"])
async def test_a_stale_session_must_prove_it_is_them_again(
    client: AsyncClient, db: Database, clock: Clock, path: str, body: dict[str, object]
) -> None:
    user = await db.user()
    headers = bearer(await login(client, user.email))
    body = {**body, "new_email": unique_email()} if "new_email" in body else body
    clock.advance(PAST_THE_WINDOW)

    stale = await client.post(path, headers=headers, json=body)
    wrong = await client.post(REAUTH, headers=headers, json={"password": "not the password"})
    proved = await client.post(REAUTH, headers=headers, json={"password": DEFAULT_PASSWORD})
    done = await client.post(path, headers=headers, json=body)

    assert_error(stale, 403, "REAUTH_REQUIRED")
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    assert proved.status_code == 204, proved.text
    assert done.status_code in (201, 202, 204), done.text


async def test_a_fresh_sign_in_counts(client: AsyncClient, db: Database, clock: Clock) -> None:
    user = await db.user()
    headers = bearer(await login(client, user.email))
    clock.advance(9 * 60)

    body = {"current_password": DEFAULT_PASSWORD, "new_password": "a new secret"}
    changed = await client.post("/api/v1/auth/password", headers=headers, json=body)

    assert changed.status_code == 204, changed.text


class TestTurningTheAppOff:
    async def test_it_needs_a_recent_code_after_the_window(
        self, client: AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        clock.advance(PAST_THE_WINDOW)

        stale = await client.delete(TOTP, headers=enrolled.headers)
        wrong = await client.post(
            REAUTH, headers=enrolled.headers, json={"code": enrolled.code(clock, steps=5)}
        )
        proved = await client.post(
            REAUTH, headers=enrolled.headers, json={"code": enrolled.code(clock)}
        )
        off = await client.delete(TOTP, headers=enrolled.headers)

        assert_error(stale, 403, "REAUTH_REQUIRED")
        assert_error(wrong, 401, "INVALID_CODE")
        assert proved.status_code == 204, proved.text
        assert off.status_code == 204, off.text
        assert await login(client, enrolled.user.email)  # the password alone again

    async def test_then_signing_in_asks_again_only_once_enrolled_again(
        self, client: AsyncClient, enrolled: Enrolled
    ) -> None:
        off = await client.delete(TOTP, headers=enrolled.headers)
        again = await client.delete(TOTP, headers=enrolled.headers)

        assert off.status_code == 204, off.text
        assert_error(again, 404, "NOT_FOUND")
        started = await client.post(TOTP, headers=enrolled.headers)
        assert started.status_code == 201, started.text

    async def test_a_code_reauth_needs_an_app(
        self, client: AsyncClient, db: Database, clock: Clock
    ) -> None:
        user = await db.user()
        headers = bearer(await login(client, user.email))

        refused = await client.post(REAUTH, headers=headers, json={"code": "123456"})

        assert_error(refused, 401, "INVALID_CODE")


async def test_a_session_from_the_second_step_is_recent(
    client: AsyncClient, enrolled: Enrolled, clock: Clock
) -> None:
    clock.advance(PAST_THE_WINDOW)
    token = await mfa_token(client, enrolled.user.email)
    answer = await client.post(
        "/api/v1/auth/login/mfa", json={"mfa_token": token, "code": enrolled.code(clock)}
    )
    headers = bearer(answer.json()["access_token"])

    assert (await client.delete(TOTP, headers=headers)).status_code == 204


class TestRoleGrants:
    async def test_a_stale_administrator_session_must_reauthenticate(
        self, client: AsyncClient, db: Database, clock: Clock
    ) -> None:
        admin = await db.user(is_superuser=True)
        person = await db.user()
        headers = bearer(await login(client, admin.email))
        roles = (await client.get("/api/v1/roles", headers=headers)).json()
        admin_role = next(role["id"] for role in roles if role["name"] == "admin")
        grant = f"/api/v1/users/{person.id}/roles/{admin_role}"
        clock.advance(PAST_THE_WINDOW)

        stale = await client.put(grant, headers=headers)
        await client.post(REAUTH, headers=headers, json={"password": DEFAULT_PASSWORD})
        granted = await client.put(grant, headers=headers)

        assert_error(stale, 403, "REAUTH_REQUIRED")
        assert granted.status_code == 204, granted.text


async def test_handing_over_an_organisation_needs_a_recent_session(
    client: AsyncClient, db: Database, clock: Clock
) -> None:
    owner, heir = await db.user(), await db.user()
    headers = bearer(await login(client, owner.email))
    made = await client.post("/api/v1/orgs", headers=headers, json={"name": "Hand-over"})
    members = f"/api/v1/orgs/{made.json()['id']}/members"
    async with db.app.state.sessionmaker() as session:
        await join(session, made.json()["id"], heir, "member")
    clock.advance(PAST_THE_WINDOW)

    admin = await client.patch(f"{members}/{heir.id}", headers=headers, json={"roles": ["admin"]})
    stale = await client.patch(f"{members}/{heir.id}", headers=headers, json={"roles": ["owner"]})
    await client.post(REAUTH, headers=headers, json={"password": DEFAULT_PASSWORD})
    handed = await client.patch(f"{members}/{heir.id}", headers=headers, json={"roles": ["owner"]})

    assert admin.status_code == 200, admin.text  # no owner made or unmade: no more needed
    assert_error(stale, 403, "REAUTH_REQUIRED")
    assert handed.status_code == 200, handed.text
    await client.delete(f"/api/v1/orgs/{made.json()['id']}", headers=headers)
