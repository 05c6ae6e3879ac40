import uuid
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import contains_eager

from app.core.repository import detached_copy
from app.core.security import new_security_stamp
from app.identity.auth_cache import revoke_after_commit
from app.identity.models import User, UserSession
from app.identity.repository import CredentialRepository

# Authenticating a token means joining its user: a session of an inactive or deleted user
# is never valid. Every authenticated request runs this: built once, so SQLAlchemy neither
# rebuilds it nor recomputes its cache key per request.
VALID_BY_TOKEN_HASH = (
    select(UserSession)
    .join(UserSession.user)
    .options(contains_eager(UserSession.user))
    .where(
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.expires_at > bindparam("now"),
        UserSession.last_used_at > bindparam("idle_since"),
        User.is_active.is_(True),
        User.deleted_at.is_(None),
    )
)


class UserSessionRepository(CredentialRepository[UserSession]):
    """Deleting a session revokes its user's cached token lookups."""

    model = UserSession

    async def new_security_stamp(self, user_id: uuid.UUID) -> None:
        """Every token mailed to the user dies with the stamp it was issued under."""
        statement = update(User).where(User.id == user_id)
        await self.session.execute(statement.values(security_stamp=new_security_stamp()))

    async def mark_reauthenticated(
        self, current: UserSession, *, now: datetime, second_factor: str | None
    ) -> None:
        """The session's user proved who they are again; cached lookups of it are stale."""
        values: dict[str, object] = {"reauthenticated_at": now}
        if second_factor is not None:
            values["second_factor"] = second_factor
        statement = update(UserSession).where(UserSession.id == current.id)
        await self.session.execute(statement.values(values))
        revoke_after_commit(self.session, current.user_id)

    async def mark_second_factor(self, current: UserSession, second_factor: str) -> None:
        statement = update(UserSession).where(UserSession.id == current.id)
        await self.session.execute(statement.values(second_factor=second_factor))
        revoke_after_commit(self.session, current.user_id)

    async def get_valid_by_token_hash(
        self, token_hash: str, *, now: datetime, idle_since: datetime
    ) -> UserSession | None:
        """The live session for this token, with its (active, not deleted) user loaded."""
        values = {"token_hash": token_hash, "now": now, "idle_since": idle_since}
        return (await self.session.execute(VALID_BY_TOKEN_HASH, values)).scalar_one_or_none()

    @staticmethod
    def detached_copy(user_session: UserSession) -> UserSession:
        """A copy of the session and its user as loaded, in no unit of work: what the auth
        cache shares between requests, which read it and write through repositories."""
        return detached_copy(user_session, user=detached_copy(user_session.user))

    async def list_live(
        self, user_id: uuid.UUID, *, now: datetime, idle_since: datetime
    ) -> list[UserSession]:
        statement = (
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.expires_at > now,
                UserSession.last_used_at > idle_since,
            )
            .order_by(UserSession.last_used_at.desc(), UserSession.id)
        )
        return list((await self.session.execute(statement)).scalars())

    async def delete_dead(self, user_id: uuid.UUID, *, now: datetime, idle_since: datetime) -> None:
        """Housekeeping at login: the user's expired and idle sessions go."""
        statement = delete(UserSession).where(
            UserSession.user_id == user_id,
            (UserSession.expires_at <= now) | (UserSession.last_used_at <= idle_since),
        )
        await self.session.execute(statement)
