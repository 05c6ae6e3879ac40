import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update

from app.core.repository import Repository
from app.passkeys.models import Passkey, PasskeyChallenge


class PasskeyRepository(Repository[Passkey]):
    model = Passkey

    async def of_user(self, user_id: uuid.UUID) -> Sequence[Passkey]:
        statement = select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)
        return (await self.session.execute(statement)).scalars().all()

    async def find(self, user_id: uuid.UUID, passkey_id: uuid.UUID) -> Passkey | None:
        statement = select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_credential_id(self, credential_id: bytes, *, lock: bool = False) -> Passkey | None:
        statement = select(Passkey).where(Passkey.credential_id == credential_id)
        if lock:  # two assertions at once cannot both move the counter from the same value
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def has_any(self, user_id: uuid.UUID) -> bool:
        statement = select(Passkey.id).where(Passkey.user_id == user_id).limit(1)
        return (await self.session.execute(statement)).first() is not None

    async def add(self, passkey: Passkey) -> Passkey:
        self.session.add(passkey)
        await self.session.flush()
        return passkey

    async def remove(self, passkey: Passkey) -> None:
        await self.session.delete(passkey)
        await self.session.flush()

    async def remove_all(self, user_id: uuid.UUID) -> int:
        removed = await self.session.execute(delete(Passkey).where(Passkey.user_id == user_id))
        return int(getattr(removed, "rowcount", 0))

    async def move_counter(
        self, passkey: Passkey, sign_count: int, *, backed_up: bool, now: datetime
    ) -> bool:
        """The counter the assertion reported, unless another one moved it meanwhile."""
        statement = (
            update(Passkey)
            .where(Passkey.id == passkey.id, Passkey.sign_count == passkey.sign_count)
            .values(sign_count=sign_count, backed_up=backed_up, last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))

    async def flush(self) -> None:
        await self.session.flush()


class PasskeyChallengeRepository(Repository[PasskeyChallenge]):
    model = PasskeyChallenge

    async def add(
        self,
        challenge: bytes,
        *,
        purpose: str,
        user_id: uuid.UUID | None,
        now: datetime,
        expires_at: datetime,
    ) -> uuid.UUID:
        """A new challenge; expired ones go first (the table stays as small as its TTL)."""
        await self.session.execute(
            delete(PasskeyChallenge).where(PasskeyChallenge.expires_at <= now)
        )
        row = PasskeyChallenge(
            challenge=challenge, purpose=purpose, user_id=user_id, expires_at=expires_at
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def find(
        self, challenge_id: uuid.UUID, *, purpose: str, now: datetime
    ) -> PasskeyChallenge | None:
        statement = select(PasskeyChallenge).where(
            PasskeyChallenge.id == challenge_id,
            PasskeyChallenge.purpose == purpose,
            PasskeyChallenge.expires_at > now,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def take(self, challenge_id: uuid.UUID) -> bool:
        """Deletes it: whether it was still there (a challenge works once)."""
        statement = delete(PasskeyChallenge).where(PasskeyChallenge.id == challenge_id)
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))
