import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import contains_eager

from app.accounts.models import AccountToken, Purpose
from app.core.repository import Repository
from app.users.models import User


class AccountTokenRepository(Repository[AccountToken]):
    model = AccountToken

    async def replace(self, *, user_id: uuid.UUID, purpose: Purpose, **values: Any) -> None:
        """A new token of `purpose` for the user; their older ones of that purpose stop
        working."""
        await self.session.execute(
            delete(AccountToken).where(
                AccountToken.user_id == user_id, AccountToken.purpose == purpose
            )
        )
        await self.create(user_id=user_id, purpose=purpose, **values)

    async def take(
        self, token_hash: str, purpose: Purpose, *, now: datetime
    ) -> AccountToken | None:
        """The unexpired token with this hash and purpose, with its live, active user, and
        deleted: it works once."""
        statement = (
            select(AccountToken)
            .join(AccountToken.user)
            .options(contains_eager(AccountToken.user))
            .where(
                AccountToken.token_hash == token_hash,
                AccountToken.purpose == purpose,
                AccountToken.expires_at > now,
                User.is_active.is_(True),
                User.deleted_at.is_(None),
            )
            .with_for_update(of=AccountToken)
        )
        token = (await self.session.execute(statement)).scalar_one_or_none()
        if token is not None:
            await self.delete_token(token.id)
        return token

    async def delete_token(self, token_id: uuid.UUID) -> None:
        await self.session.execute(delete(AccountToken).where(AccountToken.id == token_id))
