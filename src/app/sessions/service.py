import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.errors import NotFoundError, ReauthRequiredError, UnauthorizedError
from app.core.request import ClientInfo, Clock
from app.core.security import hash_token, new_token
from app.identity.auth_cache import AuthCache
from app.identity.models import UserSession
from app.identity.service import AuditLog, Target
from app.sessions.audit import LOGOUT, LOGOUT_ALL, SESSION_REVOKED
from app.sessions.repository import UserSessionRepository


@dataclass(frozen=True)
class UserSessionPolicy:
    lifetime: timedelta
    idle_timeout: timedelta
    touch_interval: timedelta
    reauth_window: timedelta = timedelta(minutes=10)


class UserSessionService:
    """Issues, checks and revokes opaque bearer tokens backed by `user_sessions` rows.

    With a `cache`, a token's lookup is reused until its `last_used_at` is due to be written;
    the repositories revoke it when access changes. A reused session and user are shared by
    the requests that reuse them: read them, and write through the repositories (which issue
    their own statements), never by assigning to them.
    """

    def __init__(
        self,
        repository: UserSessionRepository,
        *,
        policy: UserSessionPolicy,
        clock: Clock,
        audit: AuditLog,
        cache: AuthCache[UserSession] | None = None,
    ):
        self.repository = repository
        self.policy = policy
        self.clock = clock
        self.audit = audit
        self.cache = cache

    async def start(
        self, user_id: uuid.UUID, *, client: ClientInfo, second_factor: str | None = None
    ) -> tuple[UserSession, str]:
        """A new session and its token; the token is returned once and never stored."""
        now = self.clock()
        await self.repository.delete_dead(user_id, now=now, idle_since=self._idle_since(now))
        token = new_token()
        user_session = await self.repository.create(
            user_id=user_id,
            token_hash=hash_token(token),
            created_at=now,
            last_used_at=now,
            expires_at=now + self.policy.lifetime,
            user_agent=client.user_agent,
            ip=client.ip,
            second_factor=second_factor,
        )
        return user_session, token

    async def authenticate(self, token: str | None) -> UserSession:
        """The session for a bearer token, with its user; `last_used_at` at most once a minute."""
        if not token:
            raise UnauthorizedError()
        now = self.clock()
        token_hash = hash_token(token)
        cached = self.cache.get(token_hash) if self.cache else None
        if cached is not None and self._reusable(cached, now):
            return cached
        as_of = self.cache.clock() if self.cache else 0.0
        user_session = await self.repository.get_valid_by_token_hash(
            token_hash, now=now, idle_since=self._idle_since(now)
        )
        if user_session is None:
            raise UnauthorizedError("Invalid or expired token")
        if self._touch_due(user_session.last_used_at, now):
            await self.repository.touch(user_session, now)
        elif self.cache:
            copy = self.repository.detached_copy(user_session)
            self.cache.put(token_hash, user_session.user_id, copy, as_of=as_of)
        return user_session

    def _reusable(self, cached: UserSession, now: datetime) -> bool:
        """Whether a cached lookup may answer: the session has not expired, gone idle or come
        due for its `last_used_at` write (then the database answers, and records the use)."""
        return (
            now < cached.expires_at
            and now - cached.last_used_at < self.policy.idle_timeout
            and not self._touch_due(cached.last_used_at, now)
        )

    def _touch_due(self, last_used_at: datetime, now: datetime) -> bool:
        return now - last_used_at >= self.policy.touch_interval

    async def list_live(self, user_id: uuid.UUID) -> list[UserSession]:
        now = self.clock()
        return await self.repository.list_live(user_id, now=now, idle_since=self._idle_since(now))

    async def revoke(
        self, user_id: uuid.UUID, session_id: uuid.UUID, *, actor_id: uuid.UUID | None = None
    ) -> None:
        """One of the user's sessions ends (not this request's: that is `log_out`), by the user
        or by an administrator (`actor_id`)."""
        if not await self.repository.delete_one(session_id, user_id=user_id):
            raise NotFoundError("Session not found")
        await self.audit.record(
            SESSION_REVOKED,
            actor_id=actor_id or user_id,
            subject_id=user_id,
            target=Target("session", session_id),
        )

    async def log_out(self, current: UserSession) -> None:
        """The session of this request ends."""
        await self.repository.delete_one(current.id, user_id=current.user_id)
        await self.audit.record(
            LOGOUT,
            actor_id=current.user_id,
            subject_id=current.user_id,
            target=Target("session", current.id),
        )

    async def revoke_all(self, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> None:
        await self.repository.delete_all(user_id, keep=keep)

    async def sign_out_everywhere(
        self, user_id: uuid.UUID, *, actor_id: uuid.UUID | None = None
    ) -> None:
        """Every session of the user ends, and every token mailed to them dies; by the user or
        by an administrator (`actor_id`)."""
        await self.repository.new_security_stamp(user_id)
        await self.repository.delete_all(user_id)
        await self.audit.record(LOGOUT_ALL, actor_id=actor_id or user_id, subject_id=user_id)

    def ensure_recent(self, current: UserSession) -> None:
        """For sensitive acts: the session's user proved who they are within the window."""
        if self.clock() - current.authenticated_at > self.policy.reauth_window:
            raise ReauthRequiredError()

    async def reauthenticated(
        self, current: UserSession, *, second_factor: str | None = None
    ) -> None:
        """Its user proved who they are again (with `second_factor`, the session has one)."""
        await self.repository.mark_reauthenticated(
            current, now=self.clock(), second_factor=second_factor
        )

    async def enrolled(self, current: UserSession, second_factor: str) -> None:
        """Its user turned a factor on in it: the session counts as signed in with it."""
        await self.repository.mark_second_factor(current, second_factor)

    def _idle_since(self, now: datetime) -> datetime:
        return now - self.policy.idle_timeout
