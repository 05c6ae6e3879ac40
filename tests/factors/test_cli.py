"""`app users reset-2fa` and `app users reencrypt-factors` through the real CLI, on a migrated
database of their own, with the API around them. Plain functions: each command calls
`asyncio.run` itself."""

import asyncio
import time

import pyotp
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.identity.models import AuditEvent
from tests.conftest import http_client, running_app
from tests.factors.conftest import LOGIN_MFA, TOTP
from tests.users.factories import DEFAULT_PASSWORD, bearer, create_user, login, unique_email

runner = CliRunner()
CREDENTIALS = {"password": DEFAULT_PASSWORD}


def with_keys(settings: Settings, migrated: str, *keys: bytes) -> Settings:
    listed = SecretStr(",".join(key.decode() for key in keys))
    return settings.model_copy(update={"database_url": migrated, "encryption_keys": listed})


async def enrol(settings: Settings) -> tuple[str, pyotp.TOTP]:
    """A new user with an authenticator app on: their email and the app."""
    async with running_app(settings) as app, http_client(app) as client:
        async with app.state.sessionmaker() as session:
            email = (await create_user(session, email=unique_email())).email
        headers = bearer(await login(client, email))
        totp = pyotp.TOTP((await client.post(TOTP, headers=headers)).json()["secret"])
        confirm = {"code": totp.now()}
        answer = await client.post(f"{TOTP}/confirm", headers=headers, json=confirm)
        assert answer.status_code == 200, answer.text
    return email, totp


async def sign_in(settings: Settings, email: str, code: str | None) -> int:
    """The status of a password sign-in, finished with `code` when one is asked for."""
    async with running_app(settings) as app, http_client(app) as client:
        answer = await client.post("/api/v1/auth/login", json={"email": email, **CREDENTIALS})
        if answer.status_code == 401 and code is not None:
            token = answer.json()["mfa_token"]
            answer = await client.post(LOGIN_MFA, json={"mfa_token": token, "code": code})
        return answer.status_code


async def actions(settings: Settings) -> list[str]:
    async with running_app(settings) as app, app.state.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.at)))


def test_reset_2fa_lets_the_password_alone_sign_in(settings: Settings, migrated: str) -> None:
    own = with_keys(settings, migrated, Fernet.generate_key())
    email, _ = asyncio.run(enrol(own))
    assert asyncio.run(sign_in(own, email, None)) == 401

    env = {"DATABASE_URL": migrated}
    reset = runner.invoke(cli, ["users", "reset-2fa", email], env=env)
    again = runner.invoke(cli, ["users", "reset-2fa", email], env=env)
    unknown = runner.invoke(cli, ["users", "reset-2fa", "nobody@example.com"], env=env)

    assert reset.exit_code == 0, reset.output
    assert reset.output == f"Removed the second factors of {email}\n"
    assert again.output == "None to remove\n"
    assert (unknown.exit_code, unknown.output) == (
        1,
        "Error: No user with the email nobody@example.com\n",
    )
    assert asyncio.run(sign_in(own, email, None)) == 200
    assert "factor.totp_reset" in asyncio.run(actions(own))


def test_a_new_key_in_front_then_reencrypting_retires_the_old_one(
    settings: Settings, migrated: str
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    email, totp = asyncio.run(enrol(with_keys(settings, migrated, old)))
    env = {"DATABASE_URL": migrated, "ENCRYPTION_KEYS": f"{new.decode()},{old.decode()}"}

    done = runner.invoke(cli, ["users", "reencrypt-factors"], env=env)
    twice = runner.invoke(cli, ["users", "reencrypt-factors"], env=env)

    assert done.output == "1 re-encrypted\n", done.output
    assert twice.output == "0 re-encrypted\n"
    next_code = totp.at(time.time() + 30)
    assert asyncio.run(sign_in(with_keys(settings, migrated, new), email, next_code)) == 200
    lost = runner.invoke(cli, ["users", "reencrypt-factors"], env={**env, "ENCRYPTION_KEYS": ""})
    assert lost.exit_code == 1
    assert "is a key missing from ENCRYPTION_KEYS?" in lost.output
