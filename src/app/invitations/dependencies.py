from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.metrics import Metrics
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.identity.dependencies import build_audit_log
from app.invitations.repository import InvitationRepository
from app.invitations.service import InvitationPolicy, InvitationService
from app.jobs.definitions import JobRegistry
from app.mail.dependencies import build_outbox_service
from app.mail.sender import MailTemplates
from app.orgs.repository import MemberRepository, OrgRepository, OrgRoleRepository
from app.state import app_state


def build_invitation_service(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    *,
    registry: JobRegistry,
    limiter: RateLimiter,
    metrics: Metrics,
) -> InvitationService:
    return InvitationService(
        InvitationRepository(session),
        orgs=OrgRepository(session),
        members=MemberRepository(session),
        roles=OrgRoleRepository(session),
        outbox=build_outbox_service(
            session, settings, registry, clock, limiter=limiter, metrics=metrics
        ),
        templates=MailTemplates("app.invitations", settings),
        limiter=limiter,
        policy=InvitationPolicy(
            ttl=settings.invitation_ttl, per_org=settings.rate_limit_invitations
        ),
        clock=clock,
        audit=build_audit_log(session, clock=clock),
    )


async def get_invitation_service(request: Request, session: SessionDep) -> InvitationService:
    state = app_state(request)
    return build_invitation_service(
        session,
        state.settings,
        state.clock,
        registry=state.job_registry,
        limiter=state.rate_limiter,
        metrics=state.metrics,
    )


InvitationServiceDep = Annotated[InvitationService, Depends(get_invitation_service)]
