"""Request-scoped facts every feature may need: who is calling from where, and the headers of
conditional and retried requests. The app's clock is `app.state.clock` (tests move it)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.requests import HTTPConnection

from app.core.etag import IfMatch, parse_if_match

Clock = Callable[[], datetime]
MAX_USER_AGENT = 500


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


def client_info(connection: HTTPConnection) -> ClientInfo:
    # `request.client` is already the proxy-resolved address when uvicorn trusts the proxy.
    ip = connection.client.host if connection.client else None
    user_agent = connection.headers.get("user-agent")
    return ClientInfo(ip=ip, user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None)


async def get_client_info(request: Request) -> ClientInfo:
    return client_info(request)


def location(request: Request, route_name: str, **path_params: Any) -> str:
    """A `Location` as a path (RFC 9110 §10.2.2 allows a relative reference), never built from
    the `Host` header a client chose."""
    path = request.app.url_path_for(route_name, **path_params)
    return f"{request.scope.get('root_path', '')}{path}"


def created_location(request: Request, entity_id: object) -> str:
    """The `Location` of what a `POST` to a collection created: the collection's path (as the
    client sent it, behind any proxy prefix) and the new id."""
    root = request.scope.get("root_path", "")
    collection = request.url.path.rstrip("/")
    if not collection.startswith(root):
        collection = f"{root}{collection}"
    return f"{collection}/{entity_id}"


async def get_if_match(
    if_match: Annotated[
        str | None,
        Header(description="The current `ETag`: the write fails with 412 if it changed since."),
    ] = None,
) -> IfMatch | None:
    """`If-Match`, parsed once at the edge: None when absent."""
    return parse_if_match(if_match)


ClientInfoDep = Annotated[ClientInfo, Depends(get_client_info)]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Retries with the same key and body return the first response.",
    ),
]
IfMatchDep = Annotated[IfMatch | None, Depends(get_if_match)]
