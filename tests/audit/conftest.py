"""The audit tests run an app committing to a migrated database of its own: its events cannot
be cleaned up afterwards (the log is append-only), and a refused login's event must survive
its request's rollback for real."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from app.core.config import Settings
from app.identity.models import AuditEvent
from tests.conftest import http_client, running_app
from tests.users.factories import SignedIn, bearer, create_user, login


@dataclass(frozen=True)
class Audited:
    app: FastAPI
    client: AsyncClient

    async def user(self, **fields: Any) -> SignedIn:
        async with self.app.state.sessionmaker() as session:
            user = await create_user(session, **fields)
        return SignedIn(user, bearer(await login(self.client, user.email)))

    async def events(self, **where: object) -> list[AuditEvent]:
        """The stored events matching `where`, oldest first."""
        statement = select(AuditEvent).filter_by(**where).order_by(AuditEvent.at, AuditEvent.id)
        async with self.app.state.sessionmaker() as session:
            return list(await session.scalars(statement))


@pytest.fixture
async def audited(settings: Settings, migrated: str) -> AsyncIterator[Audited]:
    """Its job worker delivers mail (to the suite's SMTP server)."""
    fast = {"database_url": migrated, "jobs_worker": True, "jobs_poll_interval": 0.05}
    own = settings.model_copy(update=fast)
    async with running_app(own) as app, http_client(app) as client:
        yield Audited(app, client)
