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


# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows:
# written raw, a logged path such as `/items/%1b[31m` would recolour or rewrite the terminal of
# whoever tails the log.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _CONTROLS}
# A traceback keeps its line breaks.
_TRACEBACK_ESCAPES = {code: escape for code, escape in _ESCAPES.items() if chr(code) != "\n"}


def escape_control_characters(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = value.translate(_TRACEBACK_ESCAPES if key == "exception" else _ESCAPES)
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
    # Tracebacks become plain text (rich's would print local variables, passwords among them),
    # escaped like every other value before either renderer writes them.
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
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
            structlog.processors.format_exc_info,
            escape_control_characters,
            renderer,
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
