from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.repository import AuditRepository
from app.audit.service import AuditService
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.request import Clock
from app.state import app_state


def build_audit_service(
    session: AsyncSession, settings: Settings, clock: Clock = utcnow
) -> AuditService:
    """Also for the retention job and the CLI."""
    return AuditService(AuditRepository(session), retention=settings.audit_retention, clock=clock)


async def get_audit_service(request: Request, session: SessionDep) -> AuditService:
    state = app_state(request)
    return build_audit_service(session, state.settings, state.clock)


AuditServiceDep = Annotated[AuditService, Depends(get_audit_service)]
