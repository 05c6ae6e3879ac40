from collections.abc import Mapping
from typing import Annotated, Any

from asgi_correlation_id import correlation_id
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import SessionDep, client_of
from app.core.models import utcnow
from app.core.request import Clock
from app.core.state import core_state
from app.identity.repository import AuditRecords, UserRecords
from app.identity.service import AuditContext, AuditLog, UserDirectory, WriteApart


def build_user_directory(session: AsyncSession) -> UserDirectory:
    """Also for code outside a request (the CLI)."""
    return UserDirectory(UserRecords(session))


async def get_user_directory(session: SessionDep) -> UserDirectory:
    return build_user_directory(session)


UserDirectoryDep = Annotated[UserDirectory, Depends(get_user_directory)]


def build_audit_log(
    session: AsyncSession,
    *,
    clock: Clock = utcnow,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> AuditLog:
    """The audit log in `session`'s unit of work: its events tell the client and request id
    of the request it serves, if any (nothing for the CLI or a job). With a `sessionmaker`,
    events recorded apart commit in a unit of work of their own."""
    client = client_of(session)
    context = AuditContext(
        ip=client.ip if client else None,
        user_agent=client.user_agent if client else None,
        request_id=correlation_id.get(),
    )
    apart = _writing_apart(sessionmaker) if sessionmaker is not None else None
    return AuditLog(AuditRecords(session), context=context, clock=clock, apart=apart)


async def get_audit_log(request: Request, session: SessionDep) -> AuditLog:
    state = core_state(request)
    return build_audit_log(session, clock=state.clock, sessionmaker=state.sessionmaker)


def _writing_apart(sessionmaker: async_sessionmaker[AsyncSession]) -> WriteApart:
    async def write(event: Mapping[str, Any]) -> None:
        async with sessionmaker.begin() as session:
            await AuditRecords(session).add(event)

    return write


AuditLogDep = Annotated[AuditLog, Depends(get_audit_log)]
