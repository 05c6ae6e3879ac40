"""structlog for the app and for the standard library loggers (uvicorn, SQLAlchemy)."""

import logging
import re
import sys
from typing import Any

import orjson
import structlog
from asgi_correlation_id import correlation_id
from structlog.typing import EventDict, Processor, WrappedLogger

from app.core.config import Settings

_SECRET_KEYS = re.compile(r"password|token|secret|authorization|cookie|hash", re.IGNORECASE)
REDACTED = "[redacted]"


def add_request_id(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    request_id = correlation_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def redact_secrets(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    # Defence in depth: nothing logs credentials on purpose, but a stray keyword never leaks one.
    for key in event:
        if _SECRET_KEYS.search(key):
            event[key] = REDACTED
    return event


def _dumps(data: Any, **_kwargs: Any) -> str:
    return orjson.dumps(data, default=str).decode()


def configure_logging(settings: Settings) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    # JSON lines carry the traceback as text; the console renderer prints it itself.
    renderers: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(serializer=_dumps)]
        if settings.log_format == "json"
        else [
            # Plain tracebacks: rich's would print local variables, passwords among them.
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
            )
        ]
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *renderers,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level)
    # The access middleware writes one line per request; uvicorn's own would repeat it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = name != "uvicorn.access"
