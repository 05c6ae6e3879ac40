"""Pure ASGI middleware: HEAD, body size and time limits, admission, allowed hosts, security
headers, access log and metrics, last-resort 500."""

import asyncio
import time
import uuid
from collections.abc import Sequence

import structlog
from starlette._utils import parse_host_header
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import (
    AppError,
    BadRequestError,
    PayloadTooLargeError,
    ServiceUnavailableError,
)
from app.core.handlers import error_response
from app.core.metrics import Metrics

logger = structlog.get_logger("app.access")
BODY_TIMEOUT = "The request body did not arrive in time"
# Where Starlette's router records its match in the scope.
_ROUTING_KEYS = ("route", "endpoint", "path_params", "app_root_path", "root_path")


def is_valid_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def new_request_id() -> str:
    return str(uuid.uuid4())


class HeadMiddleware:
    """`HEAD` answers as `GET` would, without the body (RFC 9110 §9.3.2): probes and uptime
    checkers use it. Routes declare `GET` only, so OpenAPI lists no `HEAD` twins."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server reads the method of its own scope while sending, and would wait
        # for a GET's body (and drop the connection) were it changed there.
        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, send_headers_only)
        finally:
            # What the router matched, for the access log (which records HEAD).
            scope.update((key, as_get[key]) for key in _ROUTING_KEYS if key in as_get)


class BodyLimitMiddleware:
    """413 before the body is parsed: on `Content-Length`, or as soon as the stream passes it;
    408 (and the connection closed) when the body has not arrived `timeout` seconds after the
    request began: a body that trickles or never comes holds no connection for long."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(PayloadTooLargeError())(scope, receive, send)
            return
        received = 0
        responded = False
        deadline = asyncio.get_running_loop().time() + self.timeout

        async def limited_receive() -> Message:
            nonlocal received
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                if responded:
                    raise
                logger.warning("request_body_timeout", received_bytes=received)
                raise HTTPException(
                    status_code=408, detail=BODY_TIMEOUT, headers={"Connection": "close"}
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                # Once a response has started, a late read (draining the body) is left alone:
                # an error then could no longer be answered.
                if received > self.max_bytes and not responded:
                    # FastAPI re-raises HTTPException from body reading as it is.
                    raise HTTPException(status_code=413, detail=PayloadTooLargeError.default_detail)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal responded
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, watched_send)


class AdmissionMiddleware:
    """At most `limit` requests inside the app at once; the next wait for a slot in arrival
    order, and one that waited `queue_timeout` seconds is answered 503 with `Retry-After`.

    Without it an overloaded process takes every request and shares the CPU among all of
    them, so each one slows down until clients time out (a list at 256 connections waited
    past 2 s); with it the admitted ones finish at their usual pace and the excess learns
    within `queue_timeout` that it should come back. Health probes are never queued.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        queue_timeout: float,
        retry_after: int,
        metrics: Metrics,
        exempt: Sequence[str] = (),
    ):
        self.app = app
        self.slots = asyncio.Semaphore(limit)
        self.queue_timeout = queue_timeout
        self.retry_after = retry_after
        self.metrics = metrics
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self.slots.acquire()
        except TimeoutError:
            self.metrics.requests_shed.inc()
            busy = ServiceUnavailableError(
                "The server is busy: retry after the time Retry-After gives",
                retry_after=self.retry_after,
            )
            await error_response(busy)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


class AllowedHostsMiddleware(TrustedHostMiddleware):
    """Starlette's `Host` check (exact names and `*.example.com`), answering an unknown,
    missing or repeated host with 400 in the envelope instead of plain text (two `Host` fields
    would pass on the first, which proxies may not route by)."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]):
        super().__init__(app, allowed_hosts=allowed_hosts, www_redirect=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = Headers(scope=scope).getlist("host")
        if len(hosts) == 1 and self._allowed(hosts[0]):
            await self.app(scope, receive, send)
            return
        await error_response(BadRequestError("Invalid host header"))(scope, receive, send)

    def _allowed(self, header: str | None) -> bool:
        parsed = parse_host_header(header)
        if parsed is None:
            return False
        host = parsed.host.lower()
        return any(
            host == pattern or (pattern.startswith("*") and host.endswith(pattern[1:]))
            for pattern in self.allowed_hosts
        )


class SecurityHeadersMiddleware:
    """`nosniff` on every response; API responses (tokens, personal data) are never cached."""

    def __init__(self, app: ASGIApp, *, no_store_prefix: str = "/api/"):
        self.app = app
        self.no_store_prefix = no_store_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].startswith(self.no_store_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if no_store and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLogMiddleware:
    """One log line and one metrics sample per request; unhandled errors become a 500 envelope,
    and requests cancelled by a shutdown a 503.

    It sits inside the correlation-id middleware, so those answers carry `X-Request-ID` too.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, retry_after: int):
        self.app = app
        self.metrics = metrics
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def observed_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            logger.exception("unhandled_error")
            if not response_started:
                await error_response(AppError())(scope, receive, send)
        except asyncio.CancelledError:
            # uvicorn cancels what outlives the graceful-shutdown timeout; its own answer would
            # be a plain-text 500. The transaction was rolled back: the client may retry.
            if not response_started:
                status = 503
                shutting_down = ServiceUnavailableError(
                    "The server is shutting down", retry_after=self.retry_after
                )
                await error_response(shutting_down)(scope, receive, send)
            raise
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        template = route_template(scope)
        method = scope["method"]
        self.metrics.observe(method, template, status, seconds)
        logger.info(
            "request",
            method=method,
            route=template,
            path=scope["path"],
            status=status,
            duration_ms=round(seconds * 1000, 2),
        )


def route_template(scope: Scope) -> str:
    """What matched, in a bounded set of labels: an API route's template, a mounted app's mount
    point (the docs' static files: any path below it would do), or a plain route's fixed path."""
    template = getattr(scope.get("route"), "path", None)
    if template is not None:
        return str(template)
    if "endpoint" not in scope:
        return "<unmatched>"
    # Starlette's Mount alone sets `app_root_path`, and appends its prefix to `root_path`.
    if "app_root_path" in scope:
        return str(scope["root_path"]).removeprefix(scope["app_root_path"]) + "/{path}"
    return str(scope["path"])
