import uuid
from datetime import datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import contains_eager

from app.core.repository import detached_copy

# Authenticating a key means joining its owner: a key of an inactive or deleted user is dead.
from app.identity.models import ApiKey, User
from app.identity.repository import CredentialRepository

VALID_BY_TOKEN_HASH = (
    select(ApiKey)
    .join(ApiKey.user)
    .options(contains_eager(ApiKey.user))
    .where(
        ApiKey.token_hash == bindparam("token_hash"),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > bindparam("now")),
        User.is_active.is_(True),
        User.deleted_at.is_(None),
    )
)


class ApiKeyRepository(CredentialRepository[ApiKey]):
    """Deleting a key revokes its owner's cached token lookups."""

    model = ApiKey

    async def get_valid_by_token_hash(self, token_hash: str, *, now: datetime) -> ApiKey | None:
        """The unexpired key with this hash, with its (active, not deleted) owner loaded."""
        values = {"token_hash": token_hash, "now": now}
        return (await self.session.execute(VALID_BY_TOKEN_HASH, values)).scalar_one_or_none()

    @staticmethod
    def as_seen_by_key(key: ApiKey, permissions: frozenset[str]) -> ApiKey:
        """A copy of the key and its owner, in no unit of work, the owner holding only
        `permissions`: what a request made with the key acts as, and what the auth cache
        shares."""
        user = detached_copy(key.user, permission_names=" ".join(sorted(permissions)))
        return detached_copy(key, user=user)

    async def list_for(self, user_id: uuid.UUID) -> list[ApiKey]:
        statement = (
            select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at, ApiKey.id)
        )
        return list((await self.session.scalars(statement)).all())
