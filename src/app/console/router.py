"""Mounting the console at `/admin` (when `ADMIN_ENABLED`, by default outside production).

starlette-admin serves it as an app of its own, with its own middleware: a database session
per request (committed when the page answers below 400), CSRF tokens on every form and
action (a signed double-submit cookie), and the console's sign-in.
"""

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp
from starlette_admin.contrib.sqla import Admin
from starlette_admin.helpers import on_commit

from app.console.auth import ConsoleAuth
from app.console.dependencies import unit_of_work
from app.console.sessions import StateSessions
from app.console.views import console_views
from app.core.db import bind_client, run_after_commit
from app.core.permissions import allows
from app.core.request import client_info
from app.identity.models import User
from app.state import AppState

CONSOLE_PATH = "/admin"
# The library's pages carry inline scripts and styles; nothing else loads from elsewhere (its
# web font import included), and nothing may frame them.
CONSOLE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def include_console(app: FastAPI) -> None:
    state: AppState = app.state  # type: ignore[assignment]
    if not state.settings.serves_admin:
        return
    # Its INFO and WARNING lines name the email of every sign-in attempt: the audit log keeps
    # those, where retention and access are ruled.
    logging.getLogger("starlette_admin").setLevel(logging.ERROR)
    views = console_views(state)
    needed = {view.permission for view in views}

    def may_enter(user: User) -> bool:
        return any(allows(user.permissions, permission) for permission in needed)

    console = Admin(
        StateSessions(state),
        title=f"{state.settings.app_name} admin",
        base_url=CONSOLE_PATH,
        route_name="admin",
        auth_provider=ConsoleAuth(state, may_enter),
        # The sign-in form gains the second factor's code (templates/login.html).
        templates_dir=str(Path(__file__).parent / "templates"),
        secret_key=_console_key(state),
        middlewares=[Middleware(ConsoleRequests, state=state)],
    )
    for view in views:
        console.add_view(view)
    console.mount_to(app)


class ConsoleRequests(BaseHTTPMiddleware):
    """The library's per-request session as the app's unit of work: it knows its client (for
    the audit log) and, once committed, runs the app's after-commit hooks (revocations on
    every instance, job wake-ups). Every page also gets the console's headers."""

    def __init__(self, app: ASGIApp, state: AppState):
        super().__init__(app)
        self.state = state

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        session = unit_of_work(request)
        bind_client(session, client_info(request))

        async def after_commit() -> Any:
            await run_after_commit(self.state, session)

        on_commit(request, after_commit)
        response = await call_next(request)
        response.headers.update(CONSOLE_HEADERS)
        return response


def _console_key(state: AppState) -> str:
    """A key of the console's own, derived from `SECRET_KEY` (CSRF tokens, flash messages)."""
    secret = state.settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, b"admin-console", hashlib.sha256).hexdigest()
