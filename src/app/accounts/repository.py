import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import contains_eager

from app.accounts.models import AccountToken, Purpose
from app.core.repository import Repository
from app.identity.models import User


class AccountTokenRepository(Repository[AccountToken]):
    model = AccountToken

    async def replace(self, *, user_id: uuid.UUID, purpose: Purpose, **values: Any) -> None:
        """The user's token of `purpose` (`INSERT … ON CONFLICT (user_id, purpose) DO UPDATE`):
        an older one stops working, and of two issued at once only the later stands."""
        statement = self.insert().values(
            id=uuid.uuid4(), user_id=user_id, purpose=purpose, **values
        )
        upsert = statement.on_conflict_do_update(
            index_elements=[AccountToken.user_id, AccountToken.purpose],
            set_={name: statement.excluded[name] for name in values},
        )
        await self.session.execute(upsert)

    async def find_usable(
        self, token_hash: str, purpose: Purpose, *, now: datetime
    ) -> AccountToken | None:
        """What `take` would take, left in place (a page shows it before the user acts)."""
        statement = self._usable(token_hash, purpose, now=now)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def take(
        self, token_hash: str, purpose: Purpose, *, now: datetime
    ) -> AccountToken | None:
        """The unexpired token with this hash and purpose, issued under its user's current
        security stamp, with its live, active user; deleted: it works once."""
        statement = self._usable(token_hash, purpose, now=now).with_for_update(of=AccountToken)
        token = (await self.session.execute(statement)).scalar_one_or_none()
        if token is not None:
            await self.delete_of(token.user_id, purpose)
        return token

    def _usable(
        self, token_hash: str, purpose: Purpose, *, now: datetime
    ) -> Select[tuple[AccountToken]]:
        return (
            select(AccountToken)
            .join(AccountToken.user)
            .options(contains_eager(AccountToken.user))
            .where(
                AccountToken.token_hash == token_hash,
                AccountToken.purpose == purpose,
                AccountToken.expires_at > now,
                AccountToken.security_stamp == User.security_stamp,
                User.is_active.is_(True),
                User.deleted_at.is_(None),
            )
        )

    async def delete_of(self, user_id: uuid.UUID, *purposes: Purpose) -> None:
        statement = delete(AccountToken).where(
            AccountToken.user_id == user_id, AccountToken.purpose.in_(purposes)
        )
        await self.session.execute(statement)
