"""Exception handlers: every error path answers SPEC's envelope."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import orjson
import structlog
from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ExceptionHandler, Receive, Scope, Send

from app.core.errors import (
    ERRORS_BY_STATUS,
    AppError,
    ConflictError,
    InvalidInputError,
    MfaRequiredError,
    ServiceUnavailableError,
)
from app.core.state import core_state

logger = structlog.get_logger(__name__)


def error_response(
    error: AppError, *, errors: Sequence[Mapping[str, Any]] | None = None
) -> Response:
    body: dict[str, Any] = {
        "detail": error.detail,
        "error_code": error.error_code,
        "correlation_id": correlation_id.get(),
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if errors:
        body["errors"] = list(errors)
    if isinstance(error, MfaRequiredError):
        body["mfa_token"] = error.mfa_token
    return Response(
        content=orjson.dumps(body),
        status_code=error.status_code,
        headers=error.headers,
        media_type="application/json",
    )


async def handle_app_error(_request: Request, exc: AppError) -> Response:
    errors = exc.errors if isinstance(exc, InvalidInputError) else None
    return error_response(exc, errors=errors)


async def handle_validation_error(_request: Request, exc: RequestValidationError) -> Response:
    errors = [
        {"loc": list(error["loc"]), "msg": str(error["msg"]), "type": str(error["type"])}
        for error in exc.errors()
    ]
    return error_response(InvalidInputError("Request validation failed"), errors=errors)


async def handle_http_exception(request: Request, exc: StarletteHTTPException) -> Response:
    fallback = InvalidInputError if exc.status_code < 500 else AppError
    error_class = ERRORS_BY_STATUS.get(exc.status_code, fallback)
    detail = exc.detail if isinstance(exc.detail, str) else None
    error = error_class(detail)
    error.headers.update(exc.headers or {})
    if exc.status_code == 405 and (methods := _allowed_methods(request)):
        error.headers["Allow"] = ", ".join(methods)
    return error_response(error)


def _allowed_methods(request: Request) -> list[str]:
    """Every method of the path, from the OpenAPI paths, and `HEAD` wherever `GET` is.

    Starlette names only the methods of the first route that matched the path, so `Allow`
    would say `POST` for `/items` although `GET` works too.
    """
    state = core_state(request)
    table = getattr(state, "allow_table", None)
    if table is None:
        paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
        table = [
            (compile_path(path)[0], _methods(operations)) for path, operations in paths.items()
        ]
        state.allow_table = table
    return next((methods for pattern, methods in table if pattern.match(request.url.path)), [])


def _methods(operations: dict[str, Any]) -> list[str]:
    methods = {method.upper() for method in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def handle_integrity_error(_request: Request, exc: Exception) -> Response:
    # Repositories translate the violations they expect; one reaching here is a race
    # on a constraint that the request lost.
    logger.warning("integrity_error", error=type(exc).__name__)
    return error_response(ConflictError("The request conflicts with the current state"))


async def handle_database_error(request: Request, exc: Exception) -> Response:
    if _is_data_error(exc):
        # Validation should have refused the value; the database refusing it (a character or
        # number it cannot store) is still the client's input: a 422, not a 500.
        logger.warning("data_error", error=type(getattr(exc, "orig", exc)).__name__)
        return error_response(InvalidInputError("A value in the request cannot be stored"))
    if not _is_unavailable(exc):
        _log_database_error(exc, production=core_state(request).settings.is_production)
        return error_response(AppError())
    logger.warning("database_unavailable", error=type(exc).__name__)
    retry_after = core_state(request).settings.retry_after_seconds
    return error_response(ServiceUnavailableError("Database unavailable", retry_after=retry_after))


def _log_database_error(exc: Exception, *, production: bool) -> None:
    if not production:
        logger.error("database_error", exc_info=exc)
        return
    # The server's own message can quote the row ("Failing row contains (…)"), and parameters
    # are hidden by the engine only: production logs the kind of error and the statement text.
    orig = getattr(exc, "orig", exc)
    logger.error(
        "database_error",
        error=type(orig).__name__,
        sqlstate=getattr(orig, "sqlstate", None),
        statement=getattr(exc, "statement", None),
    )


def _is_data_error(exc: Exception) -> bool:
    # asyncpg reports some data exceptions (SQLSTATE class 22) as a plain DBAPIError.
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return isinstance(exc, DataError) or sqlstate.startswith("22")


def _is_unavailable(exc: Exception) -> bool:
    if isinstance(exc, OSError | PoolTimeoutError | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def register_exception_handlers(app: FastAPI) -> None:
    # Starlette types handlers as taking any Exception; each is registered for its own type.
    handlers: dict[type[Exception], Any] = {
        AppError: handle_app_error,
        RequestValidationError: handle_validation_error,
        StarletteHTTPException: handle_http_exception,
        IntegrityError: handle_integrity_error,
        DBAPIError: handle_database_error,
        PoolTimeoutError: handle_database_error,
        OSError: handle_database_error,
    }
    for exception_class, handler in handlers.items():
        app.add_exception_handler(exception_class, cast(ExceptionHandler, handler))


class SelfAnsweringRoute(APIRoute):
    """A route that answers its own errors (`AppError`, invalid input) in its own way: a page,
    a redirect. Its `answer_error` runs where the app's handlers do, once the unit of work
    has rolled back, so what the request wrote is gone before the answer is made."""

    # Whether malformed requests (a 422 elsewhere) are answered here too, or as JSON.
    answers_invalid_requests: ClassVar[bool] = True

    async def answer_error(self, request: Request, error: AppError) -> Response:
        raise NotImplementedError

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        handlers, status_handlers = scope["starlette.exception_handlers"]
        own: dict[Any, Any] = {AppError: self._answer}
        if self.answers_invalid_requests:
            own[RequestValidationError] = self._answer
        scope["starlette.exception_handlers"] = ({**handlers, **own}, status_handlers)
        await super().handle(scope, receive, send)

    async def _answer(self, request: Request, error: Exception) -> Response:
        if not isinstance(error, AppError):
            error = InvalidInputError("Some of the input is missing or malformed")
        return await self.answer_error(request, error)
