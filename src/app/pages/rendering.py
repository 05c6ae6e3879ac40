"""What every page shares: templates, a strict Content-Security-Policy, CSRF-checked forms, and
errors shown in words on a page (after the unit of work has rolled back), never as JSON.

CSRF: a form carries the HMAC of a random cookie (OWASP's signed double-submit cookie), and a
browser's `Sec-Fetch-Site: cross-site` or a foreign `Origin` is refused outright. The pages keep
no session, so this needs no store; the libraries for it check a header that only `fetch()`
clients send, or bring a session of their own.
"""

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from app.core.errors import (
    AppError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidInputError,
)
from app.core.handlers import SelfAnsweringRoute
from app.state import app_state

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC = Path(__file__).parent / "static"
CSRF_FIELD = "csrf_token"
# Scripts, styles and requests only from the app itself; nothing may frame a page. The link's
# token never leaves in a `Referer`, and the forms' `Origin` still names the app.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class RetryForm:
    """The form a page shows again, with the error, when its input breaks a rule or the
    password typed in it is wrong."""

    template: str
    values: Mapping[str, object] = field(default_factory=dict)


def render(
    request: Request, template: str, status_code: int = 200, /, **values: object
) -> Response:
    """A page with a CSRF token for its form (and the cookie it is bound to)."""
    cookie_name = _cookie_name(request)
    cookie = request.cookies.get(cookie_name) or secrets.token_urlsafe(32)
    context = {
        "app_name": app_state(request).settings.app_name,
        "csrf_field": CSRF_FIELD,
        "csrf_token": _signed(request, cookie),
        **values,
    }
    response = TEMPLATES.TemplateResponse(
        request, template, context, status_code=status_code, headers=PAGE_HEADERS
    )
    response.set_cookie(
        cookie_name,
        cookie,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def retry_with(request: Request, template: str, **values: object) -> None:
    """Should what the route does next fail on its input, show `template` again."""
    request.state.retry_form = RetryForm(template, values)


async def check_csrf(request: Request) -> None:
    """The dependency of every form's POST: sent from one of the app's own pages."""
    if request.headers.get("sec-fetch-site") == "cross-site" or not _same_origin(request):
        raise ForbiddenError("This form was sent from another site. Open the link again.")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(_cookie_name(request))
    if not isinstance(sent, str) or not cookie:
        raise ForbiddenError("This form has expired. Open the link again.")
    if not hmac.compare_digest(sent, _signed(request, cookie)):
        raise ForbiddenError("This form has expired. Open the link again.")


class PageRoute(SelfAnsweringRoute):
    """A route whose errors are pages: the form shown again with the error, or the error told
    in words."""

    async def answer_error(self, request: Request, error: AppError) -> Response:
        return _failed(request, error)


def _failed(request: Request, error: AppError) -> Response:
    retry: RetryForm | None = getattr(request.state, "retry_form", None)
    if retry is not None and isinstance(error, InvalidInputError | InvalidCredentialsError):
        page = render(
            request, retry.template, error.status_code, error=error.detail, **retry.values
        )
    else:
        page = render(request, "problem.html", error.status_code, problem=error.detail)
    page.headers.update(error.headers)
    return page


def _signed(request: Request, cookie: str) -> str:
    key = app_state(request).settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()


def _cookie_name(request: Request) -> str:
    # `__Host-` cookies cannot be set by a sibling subdomain, but need HTTPS.
    return "__Host-csrf" if request.url.scheme == "https" else "csrf"


def _same_origin(request: Request) -> bool:
    # Browsers send `Origin: null` from privacy-sensitive contexts; the token still decides.
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    public_origin = _origin(app_state(request).settings.public_url)
    return origin in {f"{request.url.scheme}://{request.url.netloc}", public_origin}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
