"""Invitations to an organisation (`members:invite`), and accepting one."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from app.core.errors import (
    EmailNotVerifiedError,
    ForbiddenError,
    InvalidTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnauthorizedError,
    error_responses,
)
from app.core.pagination import PageResult
from app.identity.credentials import OrgMember
from app.identity.models import Organisation, UserSession
from app.identity.permissions import ACCOUNT_MANAGE
from app.invitations.dependencies import InvitationServiceDep
from app.invitations.filters import InvitationListQuery
from app.invitations.models import Invitation
from app.invitations.permissions import MEMBERS_INVITE
from app.invitations.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationPage,
    InvitationRead,
)
from app.orgs.dependencies import require_org
from app.orgs.schemas import OrgRead
from app.sessions.dependencies import require_session

router = APIRouter(
    tags=["invitations"], responses=error_responses(UnauthorizedError, PermissionDeniedError)
)
INVITATIONS = "/orgs/{org_id:uuid}/invitations"
Inviter = Annotated[OrgMember, require_org(MEMBERS_INVITE)]


@router.post(
    INVITATIONS,
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationRead,
    responses=error_responses(NotFoundError, RateLimitedError),
)
async def create_invitation(
    data: InvitationCreate, actor: Inviter, invitations: InvitationServiceDep
) -> Invitation:
    """Mail an invitation with a single-use link to `PUBLIC_URL/account/accept-invitation?token=…`,
    valid for `INVITATION_TTL`; an earlier one to the same address stops working. The answer
    is the same whether the address has an account, or is a member already."""
    return await invitations.invite(actor, data)


@router.get(INVITATIONS, response_model=InvitationPage, responses=error_responses(NotFoundError))
async def list_invitations(
    actor: Inviter, invitations: InvitationServiceDep, query: InvitationListQuery
) -> PageResult[Invitation]:
    """The organisation's pending invitations."""
    return query.signed(await invitations.list_in(actor, query.filters, query.page))


@router.delete(
    f"{INVITATIONS}/{{invitation_id:uuid}}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(NotFoundError),
)
async def delete_invitation(
    invitation_id: uuid.UUID, actor: Inviter, invitations: InvitationServiceDep
) -> None:
    """Withdraw an invitation: its link stops working."""
    await invitations.withdraw(actor, invitation_id)


@router.post(
    "/invitations/accept",
    response_model=OrgRead,
    responses=error_responses(
        InvalidTokenError, ForbiddenError, PermissionDeniedError, EmailNotVerifiedError
    ),
)
async def accept_invitation(
    data: InvitationAccept,
    user_session: Annotated[UserSession, require_session(ACCOUNT_MANAGE)],
    invitations: InvitationServiceDep,
) -> Organisation:
    """Join the organisation, signed in with the invited address, verified; the answer is the
    organisation. Someone else signed in (a forwarded link) is refused, and the link kept."""
    return await invitations.accept(user_session.user, data.token)
