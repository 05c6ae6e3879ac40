"""Passkeys: the signed-in user registers, lists, renames and removes theirs; anyone signs in
with one (a discoverable credential: no email typed)."""

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, status

from app.auth.dependencies import AuthServiceDep
from app.auth.schemas import TokenResponse
from app.core.errors import (
    AlreadyExistsError,
    EmailNotVerifiedError,
    InvalidCredentialsError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ReauthRequiredError,
    UnauthorizedError,
    error_responses,
)
from app.core.request import ClientInfoDep
from app.identity.models import UserSession
from app.identity.permissions import ACCOUNT_MANAGE
from app.passkeys.dependencies import PasskeyServiceDep
from app.passkeys.models import Passkey
from app.passkeys.schemas import (
    PasskeyAssertion,
    PasskeyOptionsRead,
    PasskeyRead,
    PasskeyRegistration,
    PasskeyUpdate,
)
from app.passkeys.service import PasskeyOptions
from app.sessions.dependencies import (
    UserSessionServiceDep,
    require_recent_session,
    require_session,
)

router = APIRouter(prefix="/auth/passkeys", tags=["auth"])
signed_in_errors = error_responses(UnauthorizedError, PermissionDeniedError)
Enrolling = Annotated[UserSession, require_session(ACCOUNT_MANAGE, enrolling=True)]
RecentlyEnrolling = Annotated[UserSession, require_recent_session(ACCOUNT_MANAGE, enrolling=True)]
RecentlySigned = Annotated[UserSession, require_recent_session(ACCOUNT_MANAGE)]
PASSKEY = "/{passkey_id:uuid}"


@router.post(
    "/register/options",
    response_model=PasskeyOptionsRead,
    responses=error_responses(UnauthorizedError, PermissionDeniedError, ReauthRequiredError),
)
async def passkey_registration_options(
    current: RecentlyEnrolling, passkeys: PasskeyServiceDep
) -> PasskeyOptions:
    """Start adding a passkey: give `public_key` to `navigator.credentials.create()`. A
    passkey signs in on its own, so this needs a sign-in or `POST /auth/reauth` within
    `REAUTH_WINDOW`."""
    return await passkeys.registration_options(current.user)


@router.post(
    "/register/verify",
    status_code=status.HTTP_201_CREATED,
    response_model=PasskeyRead,
    responses=error_responses(
        UnauthorizedError, PermissionDeniedError, InvalidInputError, AlreadyExistsError
    ),
)
async def register_passkey(
    data: PasskeyRegistration,
    current: Enrolling,
    passkeys: PasskeyServiceDep,
    user_sessions: UserSessionServiceDep,
) -> Passkey:
    """Finish adding a passkey with the credential the browser made; this session then counts
    as signed in with it (for `REQUIRE_2FA_ROLES`)."""
    passkey = await passkeys.register(current.user, data.challenge_id, data.credential, data.name)
    await user_sessions.enrolled(current, "passkey")
    return passkey


@router.get("", response_model=list[PasskeyRead], responses=signed_in_errors)
async def list_passkeys(current: Enrolling, passkeys: PasskeyServiceDep) -> Sequence[Passkey]:
    """The signed-in user's passkeys, oldest first."""
    return await passkeys.list_of(current.user)


@router.patch(
    PASSKEY,
    response_model=PasskeyRead,
    responses=error_responses(UnauthorizedError, PermissionDeniedError, NotFoundError),
)
async def rename_passkey(
    passkey_id: uuid.UUID, data: PasskeyUpdate, current: Enrolling, passkeys: PasskeyServiceDep
) -> Passkey:
    return await passkeys.rename(current.user, passkey_id, data.name)


@router.delete(
    PASSKEY,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        UnauthorizedError, PermissionDeniedError, ReauthRequiredError, NotFoundError
    ),
)
async def remove_passkey(
    passkey_id: uuid.UUID, current: RecentlySigned, passkeys: PasskeyServiceDep
) -> None:
    """Remove a passkey (from here: the device keeps it, unusable). Needs a sign-in or
    `POST /auth/reauth` within `REAUTH_WINDOW`."""
    await passkeys.remove(current.user, passkey_id)


@router.post("/login/options", response_model=PasskeyOptionsRead)
async def passkey_login_options(passkeys: PasskeyServiceDep) -> PasskeyOptions:
    """Start signing in with a passkey: give `public_key` to `navigator.credentials.get()`;
    the device offers the passkeys it holds for this site."""
    return await passkeys.login_options()


@router.post(
    "/login/verify",
    response_model=TokenResponse,
    responses=error_responses(InvalidCredentialsError, EmailNotVerifiedError, RateLimitedError),
)
async def passkey_login(
    data: PasskeyAssertion, auth: AuthServiceDep, client: ClientInfoDep
) -> TokenResponse:
    """Finish signing in with the passkey's answer: a session, as `POST /auth/login` gives,
    with no second step (the passkey verified its user). Refusals count against the login
    limit per client address."""
    user_session, token = await auth.login_with_passkey(
        data.challenge_id, data.credential, client=client
    )
    return TokenResponse(access_token=token, expires_at=user_session.expires_at)


@router.post(
    "/reauth/options",
    response_model=PasskeyOptionsRead,
    responses=error_responses(UnauthorizedError, PermissionDeniedError, NotFoundError),
)
async def passkey_reauth_options(current: Enrolling, passkeys: PasskeyServiceDep) -> PasskeyOptions:
    """Prove it is you again with a passkey: give `public_key` to `navigator.credentials.get()`,
    then send its answer to `POST /auth/reauth` as `{"passkey": {…}}`."""
    return await passkeys.reauth_options(current.user)
