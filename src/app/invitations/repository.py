import uuid
from datetime import datetime

from sqlalchemy import Select, delete, select

from app.core.pagination import PageRequest, PageResult
from app.core.repository import Repository
from app.invitations.filters import InvitationFilter
from app.invitations.models import Invitation


class InvitationRepository(Repository[Invitation]):
    model = Invitation

    async def replace(self, invitation: Invitation) -> Invitation:
        """Stores `invitation`; an earlier one to the same address in that organisation goes
        (its link stops working)."""
        await self.session.execute(
            delete(Invitation).where(
                Invitation.org_id == invitation.org_id, Invitation.email == invitation.email
            )
        )
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def list_in(
        self, org_id: uuid.UUID, filters: InvitationFilter, page: PageRequest
    ) -> PageResult[Invitation]:
        statement = self.select().where(Invitation.org_id == org_id)
        return await self.list_page(filters.filter(statement), page)

    async def withdraw(self, org_id: uuid.UUID, invitation_id: uuid.UUID) -> bool:
        statement = delete(Invitation).where(
            Invitation.id == invitation_id, Invitation.org_id == org_id
        )
        return bool((await self.session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def find_valid(self, token_hash: str, *, now: datetime) -> Invitation | None:
        """The unexpired invitation with this token, left as it is (a page shows it)."""
        statement = self._valid(token_hash, now=now)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def lock_valid(self, token_hash: str, *, now: datetime) -> Invitation | None:
        """The unexpired invitation with this token, locked: two acceptances of one link
        cannot both succeed."""
        statement = self._valid(token_hash, now=now).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    def _valid(self, token_hash: str, *, now: datetime) -> Select[tuple[Invitation]]:
        return select(Invitation).where(
            Invitation.token_hash == token_hash, Invitation.expires_at > now
        )

    async def used(self, invitation: Invitation) -> None:
        await self.session.execute(delete(Invitation).where(Invitation.id == invitation.id))
