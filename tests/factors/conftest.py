"""An app committing for real (a sign-in that answers `MFA_REQUIRED` keeps its challenge
although its request rolls back), whose clock the test moves (TOTP codes depend on it); the
users made are removed afterwards (their audit events stay: the log is append-only, and
tests read only their own users' events)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select

from app.core.config import Settings
from app.identity.models import User
from tests.conftest import http_client, running_app
from tests.users.factories import DEFAULT_PASSWORD, bearer, create_user, login

TOTP = "/api/v1/auth/2fa/totp"
LOGIN_MFA = "/api/v1/auth/login/mfa"


class Clock:
    """Now, as the app sees it: a step boundary to begin with, moved by the test."""

    def __init__(self) -> None:
        seconds = int(datetime.now(UTC).timestamp()) // 30 * 30
        self.now = datetime.fromtimestamp(seconds, UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    """`engine`: the suite's database, with its tables."""
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with http_client(app) as client:
        yield client


@dataclass
class Database:
    app: FastAPI
    made: list[User] = field(default_factory=list)

    async def user(self, **fields: Any) -> User:
        async with self.app.state.sessionmaker() as session:
            user = await create_user(session, **fields)
        self.made.append(user)
        return user

    async def scalar(self, statement: Select[Any]) -> Any:
        """Its first column of its first row, read in a unit of work of its own."""
        async with self.app.state.sessionmaker() as session:
            return await session.scalar(statement)


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[Database]:
    database = Database(app)
    yield database
    async with app.state.sessionmaker.begin() as session:
        made = [user.id for user in database.made]
        await session.execute(delete(User).where(User.id.in_(made)))


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    moved = Clock()
    app.state.clock = moved
    return moved


@dataclass
class Enrolled:
    user: User
    headers: dict[str, str]
    totp: pyotp.TOTP
    recovery_codes: list[str]

    def code(self, clock: Clock, *, steps: int = 0) -> str:
        return self.totp.at(clock.now + timedelta(seconds=30 * steps))


@pytest.fixture
async def enrolled(client: AsyncClient, db: Database, clock: Clock) -> Enrolled:
    """A user with an authenticator app on (confirmed with the code of the clock's step)."""
    user = await db.user()
    headers = bearer(await login(client, user.email))
    started = await client.post(TOTP, headers=headers)
    assert started.status_code == 201, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await client.post(
        f"{TOTP}/confirm", headers=headers, json={"code": totp.at(clock.now)}
    )
    assert confirmed.status_code == 200, confirmed.text
    return Enrolled(user, headers, totp, confirmed.json()["recovery_codes"])


async def mfa_token(client: AsyncClient, email: str) -> str:
    """A password sign-in's answer for an account with a second factor."""
    answer = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error_code"] == "MFA_REQUIRED"
    return str(answer.json()["mfa_token"])
