import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import contains_eager

from app.core.repository import Repository
from app.identity.models import User
from app.oauth.models import CodePurpose, OAuthCode, OAuthState, UserIdentity


class OAuthStateRepository(Repository[OAuthState]):
    model = OAuthState

    async def add(self, **values: Any) -> None:
        await self.session.execute(self.insert().values(id=uuid.uuid4(), **values))

    async def take(self, state_hash: str, *, now: datetime) -> OAuthState | None:
        """The unexpired state with this hash, deleted: it works once."""
        statement = (
            delete(OAuthState)
            .where(OAuthState.state_hash == state_hash)
            .returning(OAuthState)
            .execution_options(synchronize_session=False)
        )
        taken = (await self.session.execute(statement)).scalar_one_or_none()
        return taken if taken is not None and taken.expires_at > now else None

    async def delete_expired(self, *, now: datetime) -> None:
        await self.session.execute(delete(OAuthState).where(OAuthState.expires_at <= now))


class OAuthCodeRepository(Repository[OAuthCode]):
    model = OAuthCode

    async def add(self, **values: Any) -> None:
        await self.session.execute(self.insert().values(id=uuid.uuid4(), **values))

    async def user_of(
        self, code_hash: str, purpose: CodePurpose, *, now: datetime
    ) -> uuid.UUID | None:
        """Whose unexpired code of `purpose` this is, leaving it in place."""
        statement = select(OAuthCode.user_id).where(
            OAuthCode.code_hash == code_hash,
            OAuthCode.purpose == purpose,
            OAuthCode.expires_at > now,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def take(
        self, code_hash: str, purpose: CodePurpose, *, now: datetime
    ) -> OAuthCode | None:
        """The unexpired code of `purpose` with its live, active user; deleted: it works
        once. Expired ones go with it."""
        statement = (
            select(OAuthCode)
            .join(OAuthCode.user)
            .options(contains_eager(OAuthCode.user))
            .where(
                OAuthCode.code_hash == code_hash,
                OAuthCode.purpose == purpose,
                OAuthCode.expires_at > now,
                User.is_active.is_(True),
                User.deleted_at.is_(None),
            )
            .with_for_update(of=OAuthCode)
        )
        code = (await self.session.execute(statement)).scalar_one_or_none()
        doomed = OAuthCode.expires_at <= now
        if code is not None:
            doomed = doomed | (OAuthCode.id == code.id)
        await self.session.execute(delete(OAuthCode).where(doomed))
        return code


class IdentityRepository(Repository[UserIdentity]):
    model = UserIdentity
    already_exists_message = "This account at the provider is already linked"

    async def find(self, provider: str, subject: str) -> UserIdentity | None:
        statement = (
            select(UserIdentity)
            .join(UserIdentity.user)
            .options(contains_eager(UserIdentity.user))
            .where(
                UserIdentity.provider == provider,
                UserIdentity.subject == subject,
                User.deleted_at.is_(None),
            )
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def touch(self, identity: UserIdentity, *, email: str | None, now: datetime) -> None:
        identity.email = email
        identity.last_used_at = now
        await self.session.flush()

    async def list_of(self, user_id: uuid.UUID) -> Sequence[UserIdentity]:
        statement = (
            select(UserIdentity)
            .where(UserIdentity.user_id == user_id)
            .order_by(UserIdentity.created_at, UserIdentity.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def lock_all_of(self, user_id: uuid.UUID) -> Sequence[UserIdentity]:
        """The user's identities, locked until the unit of work ends (two removals at once
        cannot both think another is left)."""
        statement = select(UserIdentity).where(UserIdentity.user_id == user_id).with_for_update()
        return (await self.session.execute(statement)).scalars().all()

    async def remove(self, identity: UserIdentity) -> None:
        await self.session.execute(delete(UserIdentity).where(UserIdentity.id == identity.id))

    async def count_of(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(UserIdentity.user_id == user_id)
        return int((await self.session.execute(statement)).scalar_one())
