import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Security
from fastapi.security import SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SAFE_METHODS, SessionDep, service_dependency
from app.core.errors import (
    EmailNotVerifiedError,
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
)
from app.core.models import utcnow
from app.core.permissions import ALL, allows, declared
from app.core.request import Clock
from app.core.tenancy import bind_tenant
from app.identity.credentials import OrgMember
from app.identity.dependencies import build_audit_log
from app.identity.models import ApiKey, OrgApiKey
from app.orgs.repository import MemberRepository, OrgRepository, OrgRoleRepository
from app.orgs.service import MemberService, OrgRoleService, OrgService
from app.sessions.dependencies import Credential, ensure_second_factor
from app.state import AppState, app_state


def build_org_service(
    session: AsyncSession, settings: Settings, clock: Clock = utcnow
) -> OrgService:
    return OrgService(
        OrgRepository(session),
        MemberRepository(session),
        OrgRoleRepository(session),
        require_if_match=settings.require_if_match,
        audit=build_audit_log(session, clock=clock),
    )


def build_member_service(
    session: AsyncSession, _settings: Settings | None = None, clock: Clock = utcnow
) -> MemberService:
    return MemberService(
        OrgRepository(session),
        MemberRepository(session),
        OrgRoleRepository(session),
        audit=build_audit_log(session, clock=clock),
    )


def build_org_role_service(
    session: AsyncSession, _settings: Settings | None = None, clock: Clock = utcnow
) -> OrgRoleService:
    return OrgRoleService(OrgRoleRepository(session), audit=build_audit_log(session, clock=clock))


get_org_service = service_dependency(build_org_service)
OrgServiceDep = Annotated[OrgService, Depends(get_org_service)]
get_member_service = service_dependency(build_member_service)
MemberServiceDep = Annotated[MemberService, Depends(get_member_service)]
get_org_role_service = service_dependency(build_org_role_service)
OrgRoleServiceDep = Annotated[OrgRoleService, Depends(get_org_role_service)]

OrgId = Annotated[uuid.UUID, Path(title="Org Id")]


async def get_org_member(
    scopes: SecurityScopes,
    request: Request,
    org_id: OrgId,
    credential: Credential,
    session: SessionDep,
) -> OrgMember:
    """The caller as a member of the organisation in the path: 404 when they are not one (its
    existence is not revealed), 403 `PERMISSION_DENIED` when their roles there lack a scope.
    Their memberships come with the credential's lookup: no query of its own. The rest of the
    unit of work is bound to the organisation (row-level security on PostgreSQL)."""
    state = app_state(request)
    if isinstance(credential, OrgApiKey):
        return await _as_key(state, session, credential, org_id, scopes)
    if isinstance(credential, ApiKey):
        raise ForbiddenError("A personal API key does not act in organisations")
    user = credential.user
    permissions = user.org_permissions(org_id)
    if permissions is None and user.is_superuser and state.settings.admins_read_orgs:
        permissions = await _platform_reader(request, session, org_id)
    if permissions is None:
        raise NotFoundError("Organisation not found")
    if user.email_verified_at is None and state.settings.require_verified_email:
        raise EmailNotVerifiedError()
    ensure_second_factor(state.settings, credential)
    for permission in scopes.scopes:
        if not allows(permissions, permission):
            raise PermissionDeniedError(permission)
    await bind_tenant(state, session, org_id)
    recent = state.clock() - credential.authenticated_at <= state.settings.reauth_window
    return OrgMember(user, org_id, permissions, recently_authenticated=recent)


async def _as_key(
    state: AppState,
    session: AsyncSession,
    key: OrgApiKey,
    org_id: uuid.UUID,
    scopes: SecurityScopes,
) -> OrgMember:
    """An organisation's key, in that organisation only, with its scopes."""
    if key.org_id != org_id:
        raise NotFoundError("Organisation not found")
    permissions = frozenset(key.scopes) & declared(org=True).keys()
    for permission in scopes.scopes:
        if permission not in permissions:
            raise PermissionDeniedError(permission)
    await bind_tenant(state, session, org_id)
    return OrgMember(None, org_id, permissions, key_id=key.id)


async def _platform_reader(
    request: Request, session: AsyncSession, org_id: uuid.UUID
) -> frozenset[str] | None:
    """Under `ADMINS_READ_ORGS`, a platform admin reads any organisation that exists."""
    if request.method not in SAFE_METHODS or await OrgRepository(session).get(org_id) is None:
        return None
    return frozenset({ALL})


def require_org(permission: str | None = None) -> Any:
    """A route's caller inside an organisation, `Annotated[OrgMember, require_org("projects:
    write")]`: a member of the organisation named by the path's `org_id` whose roles there
    grant `permission` (None: any member). OpenAPI shows the permission as the route's scope."""
    return Security(get_org_member, scopes=[permission] if permission else [])
