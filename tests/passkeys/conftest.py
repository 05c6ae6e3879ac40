"""The second-factor tests' committing app and moved clock, and a software authenticator
registered through the API."""

from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from app.identity.models import User
from tests.factors.conftest import Clock, Database, app, client, clock, db
from tests.passkeys.authenticator import SoftAuthenticator
from tests.users.factories import bearer, login

__all__ = ["app", "client", "clock", "db"]
PASSKEYS = "/api/v1/auth/passkeys"


@dataclass
class Registered:
    user: User
    headers: dict[str, str]
    device: SoftAuthenticator
    passkey: dict[str, object]


async def register(
    client: AsyncClient, headers: dict[str, str], device: SoftAuthenticator, **body: object
) -> dict[str, object]:
    options = await client.post(f"{PASSKEYS}/register/options", headers=headers)
    assert options.status_code == 200, options.text
    answer = await client.post(
        f"{PASSKEYS}/register/verify",
        headers=headers,
        json={
            "challenge_id": options.json()["challenge_id"],
            "credential": device.create(options.json()["public_key"]),
            **body,
        },
    )
    assert answer.status_code == 201, answer.text
    registered: dict[str, object] = answer.json()
    return registered


async def sign_in(
    client: AsyncClient,
    device: SoftAuthenticator,
    *,
    verified: bool = True,
    origin: str | None = None,
) -> tuple[str, dict[str, object]]:
    """The challenge id of a passkey sign-in, and the device's answer to it."""
    options = (await client.post(f"{PASSKEYS}/login/options")).json()
    answer = device.get(options["public_key"], verified=verified, origin=origin)
    return options["challenge_id"], answer


@pytest.fixture
def device(app: FastAPI) -> SoftAuthenticator:
    return SoftAuthenticator(origin=app.state.settings.relying_party_origins[0])


@pytest.fixture
async def registered(
    client: AsyncClient, db: Database, clock: Clock, device: SoftAuthenticator
) -> Registered:
    """A user with a passkey on `device`, and the session that registered it."""
    user = await db.user()
    headers = bearer(await login(client, user.email))
    return Registered(user, headers, device, await register(client, headers, device, name="Phone"))
