"""What the entity services need of idempotency keys; the `idempotency` feature stores them."""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import orjson


def fingerprint(body: Any) -> str:
    """SHA-256 of the request body in canonical JSON (key order and spacing do not matter)."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class IdempotentRequest:
    """Who sent which key for which operation, and a fingerprint of the body."""

    user_id: uuid.UUID
    scope: str
    key: str
    body_fingerprint: str


class IdempotencyStore(Protocol):
    async def replay(self, request: IdempotentRequest) -> dict[str, Any] | None:
        """The stored first response for this key, or None when the request should go ahead."""

    async def record(self, request: IdempotentRequest, response: dict[str, Any]) -> None:
        """Stores the first response for this key."""
