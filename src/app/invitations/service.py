import uuid
from dataclasses import dataclass
from datetime import timedelta

from app.core.config import spelled_out
from app.core.errors import (
    EmailNotVerifiedError,
    ForbiddenError,
    InvalidInputError,
    InvalidTokenError,
    NotFoundError,
    PermissionDeniedError,
)
from app.core.pagination import PageRequest, PageResult
from app.core.permissions import covers
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.core.security import hash_token, new_token
from app.identity.credentials import OrgMember
from app.identity.models import Organisation, User
from app.identity.service import AuditLog, Target
from app.invitations.audit import INVITATION_ACCEPTED, INVITATION_CREATED, INVITATION_WITHDRAWN
from app.invitations.filters import InvitationFilter
from app.invitations.models import Invitation
from app.invitations.repository import InvitationRepository
from app.invitations.schemas import InvitationCreate
from app.mail.sender import MailTemplates
from app.mail.service import OutboxService
from app.orgs.repository import MemberRepository, OrgRepository, OrgRoleRepository


@dataclass(frozen=True)
class InvitationPolicy:
    ttl: timedelta
    # Invitations one organisation may send (`limits` notation; empty is off).
    per_org: str


class InvitationService:
    """Invitations to an organisation, mailed through the outbox with a single-use link. Only
    the person signed in with the invited, verified address accepts one (a forwarded link lets
    no one else in). Nobody invites into a role granting what they do not hold. Whether the
    address already has an account, or is a member, changes nothing in the answers."""

    def __init__(
        self,
        repository: InvitationRepository,
        *,
        orgs: OrgRepository,
        members: MemberRepository,
        roles: OrgRoleRepository,
        outbox: OutboxService,
        templates: MailTemplates,
        limiter: RateLimiter,
        policy: InvitationPolicy,
        clock: Clock,
        audit: AuditLog,
    ):
        self.audit = audit
        self.invitations = repository
        self.orgs = orgs
        self.members = members
        self.roles = roles
        self.outbox = outbox
        self.templates = templates
        self.limiter = limiter
        self.policy = policy
        self.clock = clock

    async def invite(self, actor: OrgMember, data: InvitationCreate) -> Invitation:
        roles = await self.roles.named(actor.org_id, data.roles)
        if unknown := sorted(set(data.roles) - {role.name for role in roles}):
            raise InvalidInputError(f"No role named {unknown[0]}", loc=["body", "roles"])
        for role in roles:
            if not covers(actor.permissions, role.permissions):
                raise PermissionDeniedError(sorted(set(role.permissions) - actor.permissions)[0])
        await self.limiter.hit(self.policy.per_org, f"invitations:{actor.org_id}")
        org = await self.orgs.get(actor.org_id)
        if org is None:
            raise NotFoundError("Organisation not found")
        token, now = new_token(), self.clock()
        invitation = await self.invitations.replace(
            Invitation(
                org_id=actor.org_id,
                email=data.email,
                roles=sorted({role.name for role in roles}),
                token_hash=hash_token(token),
                invited_by=actor.user.id if actor.user else None,
                created_at=now,
                expires_at=now + self.policy.ttl,
            )
        )
        message = self.templates.render(
            "invitation",
            data.email,
            token=token,
            org=org.name,
            email=data.email,
            inviter=(actor.user.full_name or actor.user.email) if actor.user else org.name,
            ttl=spelled_out(self.policy.ttl),
        )
        await self.outbox.queue(message)
        details = {"email": data.email, "roles": invitation.roles}
        await self.audit.record_in_org(
            INVITATION_CREATED, actor, target=_invitation(invitation), details=details
        )
        return invitation

    async def list_in(
        self, actor: OrgMember, filters: InvitationFilter, page: PageRequest
    ) -> PageResult[Invitation]:
        return await self.invitations.list_in(actor.org_id, filters, page)

    async def withdraw(self, actor: OrgMember, invitation_id: uuid.UUID) -> None:
        if not await self.invitations.withdraw(actor.org_id, invitation_id):
            raise NotFoundError("Invitation not found")
        target = Target("invitation", invitation_id)
        await self.audit.record_in_org(INVITATION_WITHDRAWN, actor, target=target)

    async def peek(self, token: str) -> tuple[Invitation, Organisation]:
        """The invitation of a link that would work now, and its organisation; nothing is used
        up (a page shows them before the person accepts)."""
        invitation = await self.invitations.find_valid(hash_token(token), now=self.clock())
        org = await self.orgs.get(invitation.org_id) if invitation is not None else None
        if invitation is None or org is None:
            raise InvalidTokenError()
        return invitation, org

    async def accept(self, user: User, token: str) -> Organisation:
        """The user joins with the invited roles (added to theirs when already a member); the
        link is used up."""
        invitation = await self.invitations.lock_valid(hash_token(token), now=self.clock())
        if invitation is None:
            raise InvalidTokenError()
        if user.email_verified_at is None:
            raise EmailNotVerifiedError("Verify your email address to accept the invitation")
        if user.email != invitation.email:
            raise ForbiddenError("This invitation is for another address: sign in with that one")
        roles = await self.roles.named(invitation.org_id, invitation.roles)
        await self.members.add(invitation.org_id, user.id, roles)
        await self.invitations.used(invitation)
        org = await self.orgs.get(invitation.org_id)
        if org is None:
            raise InvalidTokenError()
        await self.audit.record(
            INVITATION_ACCEPTED,
            actor_id=user.id,
            subject_id=user.id,
            org_id=org.id,
            target=_invitation(invitation),
            details={"roles": invitation.roles},
        )
        return org


def _invitation(invitation: Invitation) -> Target:
    return Target("invitation", invitation.id)
