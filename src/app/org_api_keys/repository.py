import uuid
from datetime import datetime

from sqlalchemy import bindparam, delete, or_, select

from app.core.repository import Repository, detached_copy
from app.identity.auth_cache import revoke_after_commit
from app.identity.models import OrgApiKey

VALID_BY_TOKEN_HASH = select(OrgApiKey).where(
    OrgApiKey.token_hash == bindparam("token_hash"),
    or_(OrgApiKey.expires_at.is_(None), OrgApiKey.expires_at > bindparam("now")),
)


class OrgApiKeyRepository(Repository[OrgApiKey]):
    """Revoking a key revokes its cached lookups once the unit of work commits (they are
    the key's own: `owner` is its id)."""

    model = OrgApiKey

    async def get_valid_by_token_hash(self, token_hash: str, *, now: datetime) -> OrgApiKey | None:
        values = {"token_hash": token_hash, "now": now}
        return (await self.session.execute(VALID_BY_TOKEN_HASH, values)).scalar_one_or_none()

    async def touch(self, key: OrgApiKey, now: datetime) -> None:
        key.last_used_at = now
        await self.session.flush()

    async def list_in(self, org_id: uuid.UUID) -> list[OrgApiKey]:
        statement = (
            select(OrgApiKey)
            .where(OrgApiKey.org_id == org_id)
            .order_by(OrgApiKey.created_at, OrgApiKey.id)
        )
        return list(await self.session.scalars(statement))

    async def revoke(self, org_id: uuid.UUID, key_id: uuid.UUID) -> bool:
        statement = delete(OrgApiKey).where(OrgApiKey.id == key_id, OrgApiKey.org_id == org_id)
        if not (await self.session.execute(statement)).rowcount:  # type: ignore[attr-defined]
            return False
        revoke_after_commit(self.session, key_id)
        return True

    @staticmethod
    def detached_copy(key: OrgApiKey) -> OrgApiKey:
        return detached_copy(key)
