"""A provider sign-in stands for the password, not for the second factor: its login code is
exchanged for `MFA_REQUIRED`, then the code finishes it (a real OpenID provider)."""

from collections.abc import AsyncIterator

import pyotp
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from tests.assertions import assert_error
from tests.conftest import running_app
from tests.factors.conftest import LOGIN_MFA, TOTP, Clock, Database
from tests.oauth.conftest import provider_settings
from tests.oauth.flows import login_code_of, sign_in
from tests.oauth.provider import PUBLIC_URL, OpenIDProvider
from tests.oauth.test_sign_in import new_login
from tests.users.factories import bearer, login

EXCHANGE = "/api/v1/auth/oauth/exchange"


@pytest.fixture
async def app(
    settings: Settings, engine: AsyncEngine, openid_provider: OpenIDProvider
) -> AsyncIterator[FastAPI]:
    with_provider = settings.model_copy(
        update={"public_url": PUBLIC_URL, "oauth_providers": [provider_settings(openid_provider)]}
    )
    async with running_app(with_provider) as application:
        yield application


async def test_the_login_code_asks_for_the_factor(
    client: AsyncClient, db: Database, clock: Clock
) -> None:
    user = await db.user(email=new_login())
    headers = bearer(await login(client, user.email))
    secret = (await client.post(TOTP, headers=headers)).json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = await client.post(
        f"{TOTP}/confirm", headers=headers, json={"code": totp.at(clock.now)}
    )
    assert confirmed.status_code == 200, confirmed.text
    clock.advance(30)

    code = login_code_of(await sign_in(client, user.email))
    asked = await client.post(EXCHANGE, json={"login_code": code})

    assert_error(asked, 401, "MFA_REQUIRED")
    finished = await client.post(
        LOGIN_MFA, json={"mfa_token": asked.json()["mfa_token"], "code": totp.at(clock.now)}
    )
    assert finished.status_code == 200, finished.text
    me = await client.get("/api/v1/users/me", headers=bearer(finished.json()["access_token"]))
    assert me.json()["id"] == str(user.id)
