"""The HTTP server's guards below the ASGI app: bounded request heads, sent within a deadline.

uvicorn's httptools protocol buffers a request head of any size (httptools hands over a header
only once it is whole) and waits forever for one, so a single client could fill memory or, with
silent sockets, every file descriptor. `app serve` runs uvicorn with this protocol instead.
"""

import asyncio
import resource
from asyncio import TimerHandle
from typing import Any

import structlog
from asgi_correlation_id import correlation_id
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from app.core.config import get_settings
from app.core.errors import (
    AppError,
    BadRequestError,
    RequestHeadersTooLargeError,
    RequestTimeoutError,
)
from app.core.handlers import error_response
from app.core.middleware import new_request_id

logger = structlog.get_logger("app.server")


# What the kernel allows at most by default (fs.nr_open) when the hard limit is unlimited.
_NOFILE_CEILING = 1_048_576


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard one and return it: every connection holds
    a descriptor, and the usual soft limit of 1024 lets a few hundred idle clients starve the
    rest (as nginx's `worker_rlimit_nofile` does)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _NOFILE_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


class _RefusedHeadError(Exception):
    """Raised inside a parser callback; httptools stops parsing and uvicorn answers 400, which
    `send_400_response` below turns into 431, or the 400 of `head_refused`."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on the request head (line and headers):

    - more than `HTTP_MAX_HEADER_BYTES` or `HTTP_MAX_HEADERS` fields: 431 and the connection is
      closed, having buffered at most one socket read past the limit;
    - no whole head within `HTTP_HEADER_TIMEOUT` of connecting, or of the first byte of a
      further request on a kept-alive connection: closed (408 when a request had begun);
    - an HTTP/1.1 request without a `Host`, or any with two (RFC 9112 §3.2), and whatever
      the parser refuses: 400 in the envelope, with an `X-Request-ID`;
    - a response sent before the request's body was read whole: the connection is closed, so
      a body that trickles on holds it no longer (`HTTP_BODY_TIMEOUT` bounds the wait for a
      body the app reads).

    Only the bytes of an unfinished head count against its limit: pipelined requests and a
    body followed by the next request are not heads.

    One timer per connection at a time, re-armed only when it fires: requests in quick
    succession on a kept-alive connection cost no timer each.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_head_bytes = settings.http_max_header_bytes
        self.max_headers = settings.http_max_headers
        self.head_timeout = settings.http_header_timeout
        self.head_deadline: TimerHandle | None = None
        # When the head now awaited began (connection or first byte), None while none is.
        self.head_started: float | None = None
        self.request_begun = False
        self.head_too_large = False
        self.head_refused: AppError | None = None
        # Bytes read while a head was incomplete (what httptools may be holding of it), and the
        # size of the read being parsed: together, a bound on the size of a head completing now.
        self.unparsed_bytes = 0
        self.read_bytes = 0
        # Whether the head now awaited began in the read being parsed: what came before it in
        # that read belonged to earlier requests, so that read is not counted against it while
        # the head is incomplete; its size is kept for the check once the head is whole.
        self.began_in_read = False
        self.first_read_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.read_bytes = len(data)
        self.began_in_read = False
        super().data_received(data)
        if self.head_started is None or self.transport.is_closing() or self.began_in_read:
            return
        self.unparsed_bytes += len(data)
        if self.unparsed_bytes > self.max_head_bytes:
            self._refuse(RequestHeadersTooLargeError())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.request_begun = True
        self.began_in_read = True
        self.first_read_bytes = self.read_bytes
        if self.head_started is None:
            self._await_head()

    def on_headers_complete(self) -> None:
        # What the head can have been read in: the read it began in, those since, this one.
        read_since_begin = self.first_read_bytes + self.unparsed_bytes + self.read_bytes
        if len(self.headers) > self.max_headers or (
            read_since_begin > self.max_head_bytes and self._head_size() > self.max_head_bytes
        ):
            self.head_too_large = True
            raise _RefusedHeadError
        self.head_started = None
        self.request_begun = False
        self.unparsed_bytes = 0
        if problem := self._host_problem():
            self.head_refused = BadRequestError(problem)
            raise _RefusedHeadError
        super().on_headers_complete()

    def _host_problem(self) -> str | None:
        hosts = sum(1 for name, _ in self.headers if name == b"host")
        if hosts > 1:
            return "Send one Host header"
        if hosts == 0 and self.parser.get_http_version() == "1.1":
            return "An HTTP/1.1 request needs a Host header"
        return None

    def on_response_complete(self) -> None:
        if self.cycle is not None and self.cycle.more_body and not self.transport.is_closing():
            # Answered before its body came whole: reading the rest only to reuse the
            # connection would let the client hold it as long as it trickles.
            self.transport.close()
        super().on_response_complete()

    def _head_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) for name, value in self.headers)

    def send_400_response(self, msg: str) -> None:
        if self.head_too_large:
            self._refuse(RequestHeadersTooLargeError())
        elif self.head_refused is not None:
            self._refuse(self.head_refused)
        else:
            self._refuse(BadRequestError(msg.removesuffix(".")))

    def _await_head(self) -> None:
        self.head_started = self.loop.time()
        self.unparsed_bytes = 0
        if self.head_deadline is None:
            self._arm(self.head_started + self.head_timeout)

    def _arm(self, when: float) -> None:
        self.head_deadline = self.loop.call_at(when, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        if self.head_started is None or self.transport.is_closing():
            return  # between requests: the keep-alive timeout applies
        due = self.head_started + self.head_timeout
        if self.loop.time() < due:
            self._arm(due)  # the timer was set for an earlier head
        elif self.request_begun:
            self._refuse(RequestTimeoutError("The request headers did not arrive in time"))
        else:
            logger.info("connection_idle_closed", client=_address(self.client))
            self.transport.close()

    def _refuse(self, error: AppError) -> None:
        """Answer `error` in the envelope and close: the rest of the request is never read."""
        self.head_started = None
        request_id = new_request_id()
        token = correlation_id.set(request_id)
        try:
            logger.warning(
                "request_head_refused", status=error.status_code, client=_address(self.client)
            )
            response = error_response(error)
        finally:
            correlation_id.reset(token)
        lines = [STATUS_LINE[error.status_code]]
        lines += [name + b": " + value + b"\r\n" for name, value in response.raw_headers]
        lines += [b"x-request-id: " + request_id.encode() + b"\r\n", b"connection: close\r\n"]
        self.transport.write(b"".join([*lines, b"\r\n", response.body]))
        self.transport.close()


def _address(client: tuple[str, int] | None) -> str | None:
    return f"{client[0]}:{client[1]}" if client else None
