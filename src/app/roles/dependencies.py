from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import service_dependency
from app.core.models import utcnow
from app.core.request import Clock
from app.identity.dependencies import build_audit_log
from app.roles.repository import RoleRepository
from app.roles.service import RoleService


def build_role_service(
    session: AsyncSession, _settings: Settings | None = None, clock: Clock = utcnow
) -> RoleService:
    """Also for code outside a request (the CLI)."""
    return RoleService(RoleRepository(session), audit=build_audit_log(session, clock=clock))


get_role_service = service_dependency(build_role_service)
RoleServiceDep = Annotated[RoleService, Depends(get_role_service)]
