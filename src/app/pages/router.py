"""The pages behind the mailed links, under `/account`: each shows what its link will do and
acts only when the user confirms (mail scanners open links), in a CSRF-checked form."""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.staticfiles import StaticFiles

from app.accounts.dependencies import AccountServiceDep
from app.accounts.models import Purpose
from app.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from app.pages.rendering import STATIC, PageRoute, check_csrf, render, retry_with
from app.pages.schemas import PasswordForm, TokenForm

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
    return render(
        request,
        "confirm.html",
        title="Confirm your email address",
        explanation=f"Confirm that {used.user.email} is your address.",
        button="Confirm my address",
        action=request.url_for("verify_email_done"),
        token=token,
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
    return render(
        request,
        "confirm.html",
        title="Confirm your new email address",
        explanation=f"From now on, sign in as {used.new_email} instead of {used.user.email}.",
        button="Use the new address",
        action=request.url_for("confirm_email_done"),
        token=token,
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
    return render(
        request,
        "confirm.html",
        title="Call off the change of address",
        explanation=f"Your account keeps {used.user.email}; the confirmation mailed to the new "
        "address stops working.",
        button="Call off the change",
        action=request.url_for("cancel_email_change_done"),
        token=token,
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


def _reset_form(request: Request, token: str, email: str) -> dict[str, object]:
    return {
        "title": "Choose a new password",
        "action": request.url_for("reset_password_done"),
        "token": token,
        "email": email,
        "min_length": PASSWORD_MIN_LENGTH,
        "max_length": PASSWORD_MAX_LENGTH,
    }
