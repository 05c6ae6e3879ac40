"""Sign-in with OpenID Connect and OAuth 2.0 providers, and the identities that link them."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from app.auth.schemas import TokenResponse
from app.core.errors import (
    AppError,
    ConflictError,
    InvalidTokenError,
    MfaRequiredError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorizedError,
    error_responses,
)
from app.core.handlers import SelfAnsweringRoute
from app.core.request import ClientInfoDep
from app.identity.models import UserSession
from app.identity.permissions import ACCOUNT_MANAGE
from app.oauth.dependencies import OAuthServiceDep, browser_cookie_name
from app.oauth.models import UserIdentity
from app.oauth.schemas import (
    IdentityRead,
    LinkRequest,
    LinkStart,
    LoginCodeExchange,
    ProviderName,
    ProviderParameter,
    ProviderRead,
    RedirectPath,
    SignInError,
)
from app.oauth.service import API_PREFIX, RESULT_PAGE, ProviderAnswer
from app.sessions.dependencies import require_session
from app.state import app_state

router = APIRouter(tags=["oauth"])
Owner = Annotated[UserSession, require_session(ACCOUNT_MANAGE)]
signed_in_errors = error_responses(UnauthorizedError, PermissionDeniedError)


class CallbackRoute(SelfAnsweringRoute):
    """The provider sends the browser here: whatever fails, the browser lands on the result
    page with the reason, never with a code, and nothing the request wrote stays. A request
    no provider would send (malformed parameters) is answered 422, like anywhere else."""

    answers_invalid_requests = False

    async def answer_error(self, request: Request, error: AppError) -> Response:
        public_url = app_state(request).settings.public_url.rstrip("/")
        reason = SignInError.RATE_LIMITED if error.status_code == 429 else SignInError.FAILED
        return _redirect(f"{public_url}{RESULT_PAGE}?error={reason.value}")


callbacks = APIRouter(tags=["oauth"], route_class=CallbackRoute)


@router.get("/auth/oauth/providers", response_model=list[ProviderRead])
async def list_oauth_providers(oauth: OAuthServiceDep) -> list[ProviderRead]:
    """The providers people may sign in with, as `OAUTH_PROVIDERS` configures them."""
    return [
        ProviderRead(
            name=provider.name,
            display_name=provider.display_name,
            kind=provider.kind,
            authorize_url=f"{API_PREFIX}/{provider.name}/authorize",
        )
        for provider in oauth.listed()
    ]


@router.get(
    "/auth/oauth/{name}/authorize",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={
        302: {"description": "To the provider"},
        **error_responses(
            NotFoundError, InvalidTokenError, RateLimitedError, ServiceUnavailableError
        ),
    },
)
async def authorize_oauth(
    name: Annotated[ProviderName, Path()],
    request: Request,
    oauth: OAuthServiceDep,
    client: ClientInfoDep,
    redirect_to: Annotated[RedirectPath | None, Query()] = None,
    link_code: Annotated[ProviderParameter | None, Query()] = None,
) -> Response:
    """Open in the browser: it goes to the provider (with `state`, `nonce` and PKCE) and comes
    back to the callback, which sends it on to `redirect_to` (a path of `PUBLIC_URL`; by
    default the sign-in result page) with `#login_code=…`."""
    started = await oauth.start(name, redirect_to=redirect_to, link_code=link_code, client=client)
    response = _redirect(started.url)
    settings = app_state(request).settings
    response.set_cookie(
        browser_cookie_name(request),
        started.browser_secret,
        max_age=int(settings.oauth_state_ttl.total_seconds()),
        httponly=True,
        # The provider's redirect back is a top-level GET from its site: `Lax` lets it through.
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@callbacks.get(
    "/auth/oauth/{name}/callback",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={302: {"description": "To `redirect_to` with a login code, or the result page"}},
)
async def oauth_callback(
    name: Annotated[ProviderName, Path()],
    request: Request,
    oauth: OAuthServiceDep,
    client: ClientInfoDep,
    state: Annotated[ProviderParameter | None, Query()] = None,
    code: Annotated[ProviderParameter | None, Query()] = None,
    error: Annotated[ProviderParameter | None, Query()] = None,
) -> Response:
    """Where the provider sends the browser back (register this URL at the provider)."""
    cookie_name = browser_cookie_name(request)
    target = await oauth.finish(
        name,
        ProviderAnswer(state=state, code=code, error=error),
        browser_secret=request.cookies.get(cookie_name),
        client=client,
    )
    response = _redirect(target)
    response.delete_cookie(cookie_name, httponly=True, samesite="lax")
    return response


@router.post(
    "/auth/oauth/exchange",
    response_model=TokenResponse,
    responses=error_responses(InvalidTokenError, MfaRequiredError, RateLimitedError),
)
async def exchange_login_code(
    data: LoginCodeExchange, oauth: OAuthServiceDep, client: ClientInfoDep
) -> TokenResponse:
    """Trade the `login_code` of a provider sign-in (once, within `LOGIN_CODE_TTL`) for a
    session; an account with a second factor answers 401 `MFA_REQUIRED`, as `POST
    /auth/login` does."""
    user_session, token = await oauth.exchange(data.login_code, client=client)
    return TokenResponse(access_token=token, expires_at=user_session.expires_at)


@router.post(
    "/auth/oauth/{name}/link",
    response_model=LinkStart,
    responses={**signed_in_errors, **error_responses(NotFoundError)},
)
async def link_oauth_provider(
    name: Annotated[ProviderName, Path()],
    owner: Owner,
    oauth: OAuthServiceDep,
    data: LinkRequest | None = None,
) -> LinkStart:
    """Start linking your account at `name` to this one: open `authorize_url` in your
    browser; you land on `redirect_to` (or the result page) with `?linked=<name>`."""
    redirect_to = data.redirect_to if data else None
    return LinkStart(
        authorize_url=await oauth.link_ticket(owner.user, name, redirect_to=redirect_to)
    )


@router.get("/users/me/identities", response_model=list[IdentityRead], responses=signed_in_errors)
async def list_my_identities(owner: Owner, oauth: OAuthServiceDep) -> list[UserIdentity]:
    """The provider accounts that sign in as you."""
    return list(await oauth.identities_of(owner.user))


@router.delete(
    "/users/me/identities/{identity_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**signed_in_errors, **error_responses(NotFoundError, ConflictError)},
)
async def delete_my_identity(identity_id: uuid.UUID, owner: Owner, oauth: OAuthServiceDep) -> None:
    """Unlink a provider account; 409 if it is your only way to sign in."""
    await oauth.unlink(owner.user, identity_id)


def _redirect(url: str) -> Response:
    # 302 for the browser's GET; the page behind it must not be cached with its code.
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
