"""The audit log over HTTP: the whole of it for operators (`audit:read`), and each person's
own security events."""

from typing import Annotated

from fastapi import APIRouter

from app.audit.dependencies import AuditServiceDep
from app.audit.filters import AuditListQuery, OrgAuditListQuery, SecurityEventListQuery
from app.audit.permissions import AUDIT_READ, ORG_AUDIT_READ
from app.audit.schemas import AuditEventPage, SecurityEventPage, SecurityEventRead
from app.core.errors import (
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
    error_responses,
)
from app.core.pagination import PageResult
from app.identity.credentials import OrgMember
from app.identity.models import AuditEvent, User
from app.identity.permissions import ACCOUNT_MANAGE
from app.orgs.dependencies import require_org
from app.sessions.dependencies import require

router = APIRouter(
    tags=["audit"],
    responses=error_responses(UnauthorizedError, ForbiddenError, PermissionDeniedError),
)


@router.get("/audit-events", response_model=AuditEventPage)
async def list_audit_events(
    _reader: Annotated[User, require(AUDIT_READ)],
    audit: AuditServiceDep,
    query: AuditListQuery,
) -> PageResult[AuditEvent]:
    """Audit events, newest first; filter by `action`, `actor_id`, `subject_id`, `org_id`,
    `target_type` and `target_id`, and the time range `at__gte` ≤ at < `at__lt`. Follow
    `next_cursor` to page through a large log at a constant cost."""
    return query.signed(await audit.list_page(query.filters, query.page))


@router.get(
    "/orgs/{org_id:uuid}/audit-events",
    response_model=AuditEventPage,
    responses=error_responses(NotFoundError),
)
async def list_org_audit_events(
    member: Annotated[OrgMember, require_org(ORG_AUDIT_READ)],
    audit: AuditServiceDep,
    query: OrgAuditListQuery,
) -> PageResult[AuditEvent]:
    """What was done in the organisation (its members, roles, invitations, keys, webhooks),
    newest first, with the same filters as `/audit-events`."""
    return query.signed(await audit.list_in_org(member.org_id, query.filters, query.page))


@router.get("/users/me/security-events", response_model=SecurityEventPage)
async def list_my_security_events(
    user: Annotated[User, require(ACCOUNT_MANAGE)],
    audit: AuditServiceDep,
    query: SecurityEventListQuery,
) -> PageResult[SecurityEventRead]:
    """Your sign-ins, refused sign-ins with your email, and changes to your account's security,
    newest first, with where each came from: so you can spot someone who is not you."""
    page = query.signed(await audit.security_events(user.id, query.filters, query.page))
    shown = [
        SecurityEventRead.model_validate(event).model_copy(
            update={"by_you": event.actor_id == user.id}
        )
        for event in page.items
    ]
    return PageResult(shown, page.limit, page.offset, page.total, next_cursor=page.next_cursor)
