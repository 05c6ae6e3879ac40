import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update

from app.core.repository import Repository
from app.factors.models import MfaChallenge, RecoveryCode, TotpFactor


class TotpRepository(Repository[TotpFactor]):
    model = TotpFactor

    async def find(self, user_id: uuid.UUID, *, lock: bool = False) -> TotpFactor | None:
        statement = select(TotpFactor).where(TotpFactor.user_id == user_id)
        if lock:  # two codes at once cannot both pass as the last step's first use
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def is_on(self, user_id: uuid.UUID) -> bool:
        statement = select(TotpFactor.user_id).where(
            TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_not(None)
        )
        return (await self.session.execute(statement)).first() is not None

    async def replace(self, user_id: uuid.UUID, secret: str, *, now: datetime) -> None:
        """An enrolment not yet confirmed (any earlier one, confirmed or not, is gone)."""
        await self.remove(user_id)
        self.session.add(TotpFactor(user_id=user_id, secret=secret, created_at=now))
        await self.session.flush()

    async def remove(self, user_id: uuid.UUID) -> bool:
        removed = await self.session.execute(
            delete(TotpFactor).where(TotpFactor.user_id == user_id)
        )
        return bool(getattr(removed, "rowcount", 0))

    async def all(self) -> Sequence[TotpFactor]:
        return (await self.session.execute(select(TotpFactor))).scalars().all()

    async def flush(self) -> None:
        await self.session.flush()


class RecoveryCodeRepository(Repository[RecoveryCode]):
    model = RecoveryCode

    async def replace_all(self, user_id: uuid.UUID, code_hashes: Sequence[str]) -> None:
        await self.remove_all(user_id)
        rows = [
            {"id": uuid.uuid4(), "user_id": user_id, "code_hash": code_hash}
            for code_hash in code_hashes
        ]
        await self.session.execute(self.insert(), rows)

    async def use(self, user_id: uuid.UUID, code_hash: str, *, now: datetime) -> bool:
        """Marks the user's unused code with this hash used: whether there was one. Nothing
        is written for a wrong code (its request fails, and SQLite would hold the write lock
        the failure's count needs)."""
        found = select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        code_id = (await self.session.execute(found)).scalar_one_or_none()
        if code_id is None:
            return False
        statement = (
            update(RecoveryCode)
            .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))

    async def remove_all(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))

    async def count_unused(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
        return int((await self.session.execute(statement)).scalar_one())


class ChallengeRepository(Repository[MfaChallenge]):
    model = MfaChallenge

    async def add(
        self,
        *,
        token_hash: str,
        user_id: uuid.UUID,
        expires_at: datetime,
        new_password_hash: str | None,
    ) -> None:
        values = {
            "token_hash": token_hash,
            "user_id": user_id,
            "expires_at": expires_at,
            "new_password_hash": new_password_hash,
        }
        await self.session.execute(self.insert().values(id=uuid.uuid4(), failures=0, **values))

    async def find(self, token_hash: str, *, now: datetime) -> MfaChallenge | None:
        statement = select(MfaChallenge).where(
            MfaChallenge.token_hash == token_hash, MfaChallenge.expires_at > now
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def take(self, challenge_id: uuid.UUID) -> bool:
        """Deletes it: whether it was still there (a token works once)."""
        statement = delete(MfaChallenge).where(MfaChallenge.id == challenge_id)
        return bool(getattr(await self.session.execute(statement), "rowcount", 0))

    async def count_failure(self, challenge_id: uuid.UUID, *, most: int) -> None:
        """One wrong code more; at `most` the challenge is gone."""
        await self.session.execute(
            update(MfaChallenge)
            .where(MfaChallenge.id == challenge_id)
            .values(failures=MfaChallenge.failures + 1)
        )
        await self.session.execute(
            delete(MfaChallenge).where(
                MfaChallenge.id == challenge_id, MfaChallenge.failures >= most
            )
        )

    async def delete_expired(self, *, now: datetime) -> None:
        await self.session.execute(delete(MfaChallenge).where(MfaChallenge.expires_at <= now))
