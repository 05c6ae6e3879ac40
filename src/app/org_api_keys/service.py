import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.core.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
)
from app.core.permissions import covers
from app.core.request import Clock
from app.core.security import hash_token, new_token
from app.identity.auth_cache import AuthCache
from app.identity.credentials import OrgMember
from app.identity.models import ORG_KEY_PREFIX, OrgApiKey
from app.identity.service import AuditLog, Target
from app.org_api_keys.audit import ORG_API_KEY_CREATED, ORG_API_KEY_REVOKED
from app.org_api_keys.repository import OrgApiKeyRepository
from app.org_api_keys.schemas import OrgApiKeyCreate

SHOWN = len(ORG_KEY_PREFIX) + 4


@dataclass(frozen=True)
class NewOrgKey:
    record: OrgApiKey
    key: str


class OrgApiKeyService:
    """An organisation's API keys. A member creates one with scopes they hold there; it acts
    in that organisation only, with those scopes, until it expires, is revoked, or the
    organisation is deleted. With a `cache`, a key's lookup is reused until its
    `last_used_at` is due."""

    def __init__(
        self,
        repository: OrgApiKeyRepository,
        *,
        touch_interval: timedelta,
        clock: Clock,
        audit: AuditLog,
        cache: AuthCache[Any] | None = None,
    ):
        self.audit = audit
        self.repository = repository
        self.touch_interval = touch_interval
        self.clock = clock
        self.cache = cache

    async def create(self, actor: OrgMember, data: OrgApiKeyCreate) -> NewOrgKey:
        if actor.user is None:
            raise ForbiddenError("An API key cannot create keys")
        if data.expires_at is not None and data.expires_at <= self.clock():
            raise InvalidInputError("expires_at must be in the future", loc=["body", "expires_at"])
        if not covers(actor.permissions, data.scopes):
            raise PermissionDeniedError(sorted(set(data.scopes) - actor.permissions)[0])
        key = f"{ORG_KEY_PREFIX}{new_token()}"
        record = await self.repository.create(
            org_id=actor.org_id,
            name=data.name,
            prefix=key[:SHOWN],
            token_hash=hash_token(key),
            scopes=data.scopes,
            created_by=actor.user.id,
            created_at=self.clock(),
            expires_at=data.expires_at,
        )
        details = {"name": data.name, "scopes": sorted(data.scopes)}
        target = Target("org_api_key", record.id)
        await self.audit.record_in_org(ORG_API_KEY_CREATED, actor, target=target, details=details)
        return NewOrgKey(record, key)

    async def authenticate(self, key: str) -> OrgApiKey:
        now = self.clock()
        token_hash = hash_token(key)
        cached = self.cache.get(token_hash) if self.cache else None
        if isinstance(cached, OrgApiKey) and self._reusable(cached, now):
            return cached
        as_of = self.cache.clock() if self.cache else 0.0
        record = await self.repository.get_valid_by_token_hash(token_hash, now=now)
        if record is None:
            raise UnauthorizedError("Invalid or expired API key")
        if record.last_used_at is None or now - record.last_used_at >= self.touch_interval:
            await self.repository.touch(record, now)
        elif self.cache:
            copy = self.repository.detached_copy(record)
            self.cache.put(token_hash, record.id, copy, as_of=as_of)
        return record

    def _reusable(self, cached: OrgApiKey, now: datetime) -> bool:
        return (
            (cached.expires_at is None or now < cached.expires_at)
            and cached.last_used_at is not None
            and now - cached.last_used_at < self.touch_interval
        )

    async def list_in(self, actor: OrgMember) -> list[OrgApiKey]:
        return await self.repository.list_in(actor.org_id)

    async def revoke(self, actor: OrgMember, key_id: uuid.UUID) -> None:
        if not await self.repository.revoke(actor.org_id, key_id):
            raise NotFoundError("API key not found")
        target = Target("org_api_key", key_id)
        await self.audit.record_in_org(ORG_API_KEY_REVOKED, actor, target=target)
