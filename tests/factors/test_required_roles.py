"""`REQUIRE_2FA_ROLES`: a holder of a role named there who did not sign in with a second factor
may only enrol one (403 `SECOND_FACTOR_REQUIRED` elsewhere); the session that enrols it, and
every sign-in with it after, does everything its roles grant."""

from collections.abc import Callable

import pyotp
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.api_keys.factories import api_key
from tests.assertions import assert_error
from tests.factors.conftest import LOGIN_MFA, TOTP, Clock, Database, mfa_token
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.conftest import PASSKEYS, device, register, sign_in
from tests.users.factories import SignedIn, bearer, login

__all__ = ["device"]
ME = "/api/v1/users/me"
USERS = "/api/v1/users"


@pytest.fixture
def require_admin_factor(app: FastAPI) -> Callable[[], None]:
    """Turns the rule on for the `admin` role (settings are read per request)."""

    def turn_on() -> None:
        settings = app.state.settings
        app.state.settings = settings.model_copy(update={"require_2fa_roles": ["admin"]})

    return turn_on


async def test_an_admin_without_a_factor_may_only_enrol(
    client: AsyncClient, db: Database, clock: Clock, require_admin_factor: Callable[[], None]
) -> None:
    require_admin_factor()
    admin = await db.user(is_superuser=True)
    headers = bearer(await login(client, admin.email))

    me = await client.get(ME, headers=headers)
    users = await client.get(USERS, headers=headers)
    started = await client.post(TOTP, headers=headers)
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await client.post(
        f"{TOTP}/confirm", headers=headers, json={"code": totp.at(clock.now)}
    )

    assert_error(me, 403, "SECOND_FACTOR_REQUIRED")
    assert_error(users, 403, "SECOND_FACTOR_REQUIRED")
    assert started.status_code == 201, started.text
    assert confirmed.status_code == 200, confirmed.text
    assert (await client.get(USERS, headers=headers)).status_code == 200  # this session enrolled
    clock.advance(30)
    answer = await client.post(
        LOGIN_MFA,
        json={"mfa_token": await mfa_token(client, admin.email), "code": totp.at(clock.now)},
    )
    assert (
        await client.get(USERS, headers=bearer(answer.json()["access_token"]))
    ).status_code == 200


async def test_other_roles_are_not_asked(
    client: AsyncClient, db: Database, require_admin_factor: Callable[[], None]
) -> None:
    require_admin_factor()
    user = await db.user()

    me = await client.get(ME, headers=bearer(await login(client, user.email)))

    assert me.status_code == 200, me.text


async def test_a_passkey_counts_only_when_it_signs_in(
    client: AsyncClient,
    db: Database,
    device: SoftAuthenticator,
    require_admin_factor: Callable[[], None],
) -> None:
    require_admin_factor()
    admin = await db.user(is_superuser=True)
    enrolling = bearer(await login(client, admin.email))
    await register(client, enrolling, device)

    with_password = bearer(await login(client, admin.email))  # no app: no second step
    challenge_id, credential = await sign_in(client, device)
    answer = await client.post(
        f"{PASSKEYS}/login/verify", json={"challenge_id": challenge_id, "credential": credential}
    )

    assert (await client.get(USERS, headers=enrolling)).status_code == 200
    assert_error(await client.get(USERS, headers=with_password), 403, "SECOND_FACTOR_REQUIRED")
    assert (
        await client.get(USERS, headers=bearer(answer.json()["access_token"]))
    ).status_code == 200


async def test_an_admins_api_key_works_once_they_have_a_factor(
    client: AsyncClient,
    db: Database,
    device: SoftAuthenticator,
    require_admin_factor: Callable[[], None],
) -> None:
    admin = await db.user(is_superuser=True)
    signed = SignedIn(admin, bearer(await login(client, admin.email)))
    key = await api_key(client, signed, "users:admin")  # made before the rule came in
    require_admin_factor()

    refused = await client.get(USERS, headers=key)
    await register(client, signed.headers, device)
    allowed = await client.get(USERS, headers=key)

    assert_error(refused, 403, "SECOND_FACTOR_REQUIRED")
    assert allowed.status_code == 200, allowed.text
