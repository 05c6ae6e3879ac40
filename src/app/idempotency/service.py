from datetime import timedelta
from typing import Any

from app.core.errors import ConflictError, InvalidInputError
from app.core.idempotency import IdempotentRequest
from app.core.request import Clock
from app.idempotency.repository import IdempotencyRepository

KEY_LIFETIME = timedelta(hours=24)
HEADER_LOC = ("header", "Idempotency-Key")


class IdempotencyService:
    """Makes a retried request return the first response instead of acting twice (the
    `IdempotencyStore` of the entity services)."""

    def __init__(self, repository: IdempotencyRepository, *, clock: Clock):
        self.repository = repository
        self.clock = clock

    async def replay(self, request: IdempotentRequest) -> dict[str, Any] | None:
        """The stored response for this key, or None when the request should go ahead.

        Holds the key until the transaction ends, so that `record` can store the response.
        """
        if not await self.repository.try_lock(request.user_id, request.scope, request.key):
            raise ConflictError("A request with this Idempotency-Key is still in progress")
        stored = await self.repository.get_live(
            request.user_id, request.scope, request.key, now=self.clock()
        )
        if stored is None:
            return None
        if stored.fingerprint != request.body_fingerprint:
            raise InvalidInputError(
                "This Idempotency-Key was used with another request body", loc=HEADER_LOC
            )
        return stored.response

    async def record(self, request: IdempotentRequest, response: dict[str, Any]) -> None:
        now = self.clock()
        await self.repository.delete_expired(request.user_id, now=now)
        await self.repository.create(
            user_id=request.user_id,
            scope=request.scope,
            key=request.key,
            fingerprint=request.body_fingerprint,
            response=response,
            created_at=now,
            expires_at=now + KEY_LIFETIME,
        )
