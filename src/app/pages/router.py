"""The pages behind the mailed links, under `/account`: each shows what its link will do and
acts only when the user confirms (mail scanners open links), in a CSRF-checked form."""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.staticfiles import StaticFiles

from app.accounts.dependencies import AccountServiceDep
from app.accounts.models import Purpose
from app.auth.dependencies import AuthServiceDep
from app.core.request import ClientInfoDep
from app.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from app.invitations.dependencies import InvitationServiceDep
from app.oauth.dependencies import OAuthServiceDep
from app.oauth.schemas import SignInError
from app.oauth.service import API_PREFIX
from app.pages.rendering import STATIC, PageRoute, check_csrf, render, retry_with
from app.pages.schemas import InvitationForm, PasswordForm, TokenForm

router = APIRouter(prefix="/account", route_class=PageRoute, include_in_schema=False)
Checked = Depends(check_csrf)
Posted = Annotated[TokenForm, Form()]


def include_pages(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/account/static", StaticFiles(directory=STATIC), name="page_static")


@router.get("/verify-email")
async def verify_email_page(
    request: Request, accounts: AccountServiceDep, token: str = ""
) -> Response:
    used = await accounts.peek(token, Purpose.EMAIL_VERIFICATION)
    return _confirm(
        request,
        token,
        title="Confirm your email address",
        explanation=f"Confirm that {used.user.email} is your address.",
        button="Confirm my address",
        action="verify_email_done",
    )


@router.post("/verify-email", dependencies=[Checked])
async def verify_email_done(
    request: Request, form: Posted, accounts: AccountServiceDep
) -> Response:
    await accounts.verify_email(form.token)
    return render(
        request, "done.html", title="Email address verified", message="Your address is verified."
    )


@router.get("/reset-password")
async def reset_password_page(
    request: Request, accounts: AccountServiceDep, token: str = ""
) -> Response:
    used = await accounts.peek(token, Purpose.PASSWORD_RESET)
    return render(request, "reset_password.html", **_reset_form(request, token, used.user.email))


@router.post("/reset-password", dependencies=[Checked])
async def reset_password_done(
    request: Request, form: Annotated[PasswordForm, Form()], accounts: AccountServiceDep
) -> Response:
    used = await accounts.peek(form.token, Purpose.PASSWORD_RESET)
    values = _reset_form(request, form.token, used.user.email)
    if problem := form.problem():
        return render(request, "reset_password.html", 422, error=problem, **values)
    retry_with(request, "reset_password.html", **values)
    await accounts.reset_password(form.token, form.new_password)
    return render(
        request,
        "done.html",
        title="Password changed",
        message="Your new password is set. Every session of the account has ended and its API "
        "keys are revoked: sign in again with the new password.",
    )


@router.get("/confirm-email")
async def confirm_email_page(
    request: Request, accounts: AccountServiceDep, token: str = ""
) -> Response:
    used = await accounts.peek(token, Purpose.EMAIL_CHANGE)
    return _confirm(
        request,
        token,
        title="Confirm your new email address",
        explanation=f"From now on, sign in as {used.new_email} instead of {used.user.email}.",
        button="Use the new address",
        action="confirm_email_done",
    )


@router.post("/confirm-email", dependencies=[Checked])
async def confirm_email_done(
    request: Request, form: Posted, accounts: AccountServiceDep
) -> Response:
    await accounts.change_email(form.token)
    return render(
        request,
        "done.html",
        title="Email address changed",
        message="The new address is your account's, and it is verified.",
    )


@router.get("/cancel-email-change")
async def cancel_email_change_page(
    request: Request, accounts: AccountServiceDep, token: str = ""
) -> Response:
    used = await accounts.peek(token, Purpose.EMAIL_CHANGE_CANCEL)
    return _confirm(
        request,
        token,
        title="Call off the change of address",
        explanation=f"Your account keeps {used.user.email}; the confirmation mailed to the new "
        "address stops working.",
        button="Call off the change",
        action="cancel_email_change_done",
    )


@router.post("/cancel-email-change", dependencies=[Checked])
async def cancel_email_change_done(
    request: Request, form: Posted, accounts: AccountServiceDep
) -> Response:
    await accounts.cancel_email_change(form.token)
    return render(
        request,
        "done.html",
        title="Change called off",
        message="Your address stays as it is. If you did not ask for the change, change your "
        "password and sign out everywhere.",
    )


@router.get("/accept-invitation")
async def accept_invitation_page(
    request: Request, invitations: InvitationServiceDep, token: str = ""
) -> Response:
    invitation, org = await invitations.peek(token)
    return render(
        request,
        "accept_invitation.html",
        **_invitation_form(request, token, invitation.email, org.name),
    )


@router.post("/accept-invitation", dependencies=[Checked])
async def accept_invitation_done(
    request: Request,
    form: Annotated[InvitationForm, Form()],
    invitations: InvitationServiceDep,
    auth: AuthServiceDep,
    client: ClientInfoDep,
) -> Response:
    invitation, org = await invitations.peek(form.token)
    retry_with(
        request,
        "accept_invitation.html",
        **_invitation_form(request, form.token, invitation.email, org.name),
    )
    user = await auth.authenticate(invitation.email, form.password, client=client)
    await invitations.accept(user, form.token)
    return render(
        request,
        "done.html",
        title=f"Welcome to {org.name}",
        message=f"You are a member of {org.name}. Sign in to see what it shares.",
    )


SIGN_IN_PROBLEMS: dict[str, str] = {
    SignInError.INVALID_STATE: "The sign-in expired or was started in another browser. "
    "Start it again from here.",
    SignInError.PROVIDER_REFUSED: "The provider did not let the sign-in through (it was "
    "cancelled there, or refused).",
    SignInError.INVALID_RESPONSE: "The provider's answer could not be trusted, so nobody was "
    "signed in.",
    SignInError.EMAIL_NOT_VERIFIED: "The provider has not verified your email address. Verify "
    "it there, then try again.",
    SignInError.ACCOUNT_EXISTS: "An account with this email address exists, and its address is "
    "not verified yet: sign in with its password, then link the provider from your account.",
    SignInError.ALREADY_LINKED: "This account at the provider is linked to another of our "
    "accounts.",
    SignInError.INACTIVE: "This account is deactivated.",
    SignInError.UNAVAILABLE: "The provider cannot be reached right now. Try again in a while.",
    SignInError.RATE_LIMITED: "Too many sign-in attempts from here. Wait a while, then try again.",
    SignInError.FAILED: "The sign-in failed. Try again.",
}


@router.get("/sign-in")
async def sign_in_page(request: Request, oauth: OAuthServiceDep) -> Response:
    providers = [
        {"display_name": each.display_name, "url": f"{API_PREFIX}/{each.name}/authorize"}
        for each in oauth.listed()
    ]
    return render(request, "sign_in.html", title="Sign in", providers=providers)


@router.get("/signed-in")
async def signed_in_page(
    request: Request, oauth: OAuthServiceDep, error: str | None = None, linked: str | None = None
) -> Response:
    """Where a provider sign-in lands: its script exchanges the login code in the fragment;
    a failure arrives as `?error=` and is told here in words."""
    if error is not None:
        problem = SIGN_IN_PROBLEMS.get(error, SIGN_IN_PROBLEMS[SignInError.FAILED])
        return render(request, "signed_in.html", 400, title="Not signed in", problem=problem)
    names = {each.name: each.display_name for each in oauth.listed()}
    if linked in names:
        message = f"Your account at {names[linked]} now signs in as this one too."
        return render(request, "signed_in.html", title="Account linked", linked=message)
    return render(request, "signed_in.html", title="Signing in")


@router.get("/security")
async def security_page(request: Request) -> Response:
    """Second factors and passkeys of the account: the page signs in and acts through the API
    (its script), with a session kept in the tab."""
    return render(request, "security.html", title="Account security")


def _confirm(
    request: Request, token: str, *, title: str, explanation: str, button: str, action: str
) -> Response:
    """The page of a link whose one button does what the link is for."""
    return render(
        request,
        "confirm.html",
        title=title,
        explanation=explanation,
        button=button,
        action=request.url_for(action),
        token=token,
    )


def _invitation_form(request: Request, token: str, email: str, org: str) -> dict[str, object]:
    return {
        "title": f"Join {org}",
        "action": request.url_for("accept_invitation_done"),
        "token": token,
        "email": email,
        "org": org,
    }


def _reset_form(request: Request, token: str, email: str) -> dict[str, object]:
    return {
        "title": "Choose a new password",
        "action": request.url_for("reset_password_done"),
        "token": token,
        "email": email,
        "min_length": PASSWORD_MIN_LENGTH,
        "max_length": PASSWORD_MAX_LENGTH,
    }
