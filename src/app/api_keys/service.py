import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.api_keys.audit import API_KEY_CREATED, API_KEY_REVOKED
from app.api_keys.repository import ApiKeyRepository
from app.api_keys.schemas import ApiKeyCreate, ApiKeySpec
from app.core.errors import (
    EmailNotVerifiedError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
)
from app.core.permissions import ALL, declared
from app.core.request import Clock
from app.core.security import CurrentPasswordCheck, hash_token, new_token
from app.identity.auth_cache import AuthCache
from app.identity.models import KEY_PREFIX, ApiKey, User
from app.identity.service import AuditLog, Target

# The first characters of a key kept to tell keys apart: the prefix and 4 of the secret's
# (24 bits: enough to tell a user's keys apart, too few to help guess one).
SHOWN = len(KEY_PREFIX) + 4


@dataclass(frozen=True)
class NewKey:
    """A key as created: the record, and the key itself, returned this once."""

    record: ApiKey
    key: str


class ApiKeyService:
    """Issues, checks and revokes personal API keys.

    A key acts as its owner with the permissions both its scopes and the owner's roles grant,
    never a personal one; it dies with its expiry, its revocation, or the owner's deactivation
    or deletion. With a `cache`, a key's lookup is reused until its `last_used_at` is due.
    """

    def __init__(
        self,
        repository: ApiKeyRepository,
        *,
        touch_interval: timedelta,
        clock: Clock,
        audit: AuditLog,
        cache: AuthCache[Any] | None = None,
        passwords: CurrentPasswordCheck | None = None,
    ):
        self.audit = audit
        self.repository = repository
        self.touch_interval = touch_interval
        self.clock = clock
        self.cache = cache
        self.passwords = passwords

    async def create_own(self, owner: User, data: ApiKeyCreate) -> NewKey:
        """A key the owner asks for: their address verified, their current password given."""
        if owner.email_verified_at is None:
            raise EmailNotVerifiedError("Verify your email address before creating API keys")
        if self.passwords is None:
            raise RuntimeError("ApiKeyService needs `passwords` to create a user's own keys")
        await self.passwords.confirm(
            data.current_password, email=owner.email, hashed_password=owner.hashed_password
        )
        return await self.create(owner, data)

    async def create(self, owner: User, data: ApiKeySpec) -> NewKey:
        """A key for `owner`, scoped to permissions they hold (the CLI, for any user)."""
        if data.expires_at is not None and data.expires_at <= self.clock():
            raise InvalidInputError("expires_at must be in the future", loc=["body", "expires_at"])
        for scope in data.scopes:
            if scope not in owner.permissions and ALL not in owner.permissions:
                raise PermissionDeniedError(scope)
        key = f"{KEY_PREFIX}{new_token()}"
        record = await self.repository.create(
            user_id=owner.id,
            name=data.name,
            prefix=key[:SHOWN],
            token_hash=hash_token(key),
            scopes=data.scopes,
            created_at=self.clock(),
            expires_at=data.expires_at,
        )
        details = {"name": data.name, "scopes": sorted(data.scopes)}
        await self.audit.record(
            API_KEY_CREATED,
            actor_id=owner.id,
            subject_id=owner.id,
            target=Target("api_key", record.id),
            details=details,
        )
        return NewKey(record, key)

    async def authenticate(self, key: str) -> ApiKey:
        """The key's record, its owner holding only what the key may do."""
        now = self.clock()
        token_hash = hash_token(key)
        cached = self.cache.get(token_hash) if self.cache else None
        if isinstance(cached, ApiKey) and self._reusable(cached, now):
            return cached
        as_of = self.cache.clock() if self.cache else 0.0
        record = await self.repository.get_valid_by_token_hash(token_hash, now=now)
        if record is None:
            raise UnauthorizedError("Invalid or expired API key")
        seen = self.repository.as_seen_by_key(record, self.permissions(record))
        if record.last_used_at is None or now - record.last_used_at >= self.touch_interval:
            await self.repository.touch(record, now)
        elif self.cache:
            self.cache.put(token_hash, record.user_id, seen, as_of=as_of)
        return seen

    @staticmethod
    def permissions(record: ApiKey) -> frozenset[str]:
        """What the key may do: its scopes its owner still holds, none of them personal."""
        held = record.user.permissions
        permissions = declared()
        return frozenset(
            scope
            for scope in record.scopes
            if scope in permissions
            and not permissions[scope].personal
            and (scope in held or ALL in held)
        )

    def _reusable(self, cached: ApiKey, now: datetime) -> bool:
        return (
            (cached.expires_at is None or now < cached.expires_at)
            and cached.last_used_at is not None
            and now - cached.last_used_at < self.touch_interval
        )

    async def list_for(self, user_id: uuid.UUID) -> list[ApiKey]:
        return await self.repository.list_for(user_id)

    async def revoke(self, user_id: uuid.UUID, key_id: uuid.UUID, *, actor_id: uuid.UUID) -> None:
        """`user_id`'s key ends; `actor_id` did it (they, or an administrator)."""
        if not await self.repository.delete_one(key_id, user_id=user_id):
            raise NotFoundError("API key not found")
        target = Target("api_key", key_id)
        await self.audit.record(
            API_KEY_REVOKED, actor_id=actor_id, subject_id=user_id, target=target
        )

    async def revoke_all(self, user_id: uuid.UUID) -> None:
        await self.repository.delete_all(user_id)
