import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select, text, update

from app.core.pagination import PageRequest, PageResult
from app.core.repository import Repository
from app.identity.models import User
from app.orgs.repository import MemberRepository
from app.webhooks.filters import DeliveryFilter
from app.webhooks.models import Delivery, DeliveryState, Endpoint, Owner

_SET_TENANT = text("SELECT set_config('app.org_id', :org_id, true)")
# Asked, and written, by every write of an entity: built once.
_SUBSCRIBED: dict[str, Select[tuple[uuid.UUID, list[str]]]] = {}
_ADD_DELIVERIES = insert(cast(Table, Delivery.__table__))


class EndpointRepository(Repository[Endpoint]):
    """Endpoints, each reached through its owner (a user's `owner_id`, an organisation's
    `org_id`): another owner's are not found."""

    model = Endpoint

    async def list_for(self, owner: Owner) -> list[Endpoint]:
        statement = self._owned(owner).order_by(Endpoint.created_at, Endpoint.id)
        return list(await self.session.scalars(statement))

    async def get_for(
        self, owner: Owner, endpoint_id: uuid.UUID, *, lock: bool = False
    ) -> Endpoint | None:
        statement = self._owned(owner).where(Endpoint.id == endpoint_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def subscribed(self, owner: Owner) -> list[tuple[uuid.UUID, list[str]]]:
        """The owner's enabled endpoints (id, events): what each write of theirs asks."""
        statement = _SUBSCRIBED.get(owner.column)
        if statement is None:
            statement = select(Endpoint.id, Endpoint.events).where(
                getattr(Endpoint, owner.column) == bindparam("owner"), Endpoint.enabled.is_(True)
            )
            _SUBSCRIBED[owner.column] = statement
        rows = await self.session.execute(statement, {"owner": owner.id})
        return [(row.id, row.events) for row in rows]

    async def change(self, endpoint: Endpoint, **values: Any) -> Endpoint:
        for name, value in values.items():
            setattr(endpoint, name, value)
        await self.session.flush()
        return endpoint

    async def delete(self, endpoint: Endpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()

    async def lock(self, endpoint_id: uuid.UUID) -> Endpoint | None:
        statement = select(Endpoint).where(Endpoint.id == endpoint_id).with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def recipients(self, endpoint: Endpoint) -> list[str]:
        """Whom to tell about the endpoint: its user, or its organisation's owners."""
        users = {endpoint.owner_id} if endpoint.org_id is None else set()
        if endpoint.org_id is not None:
            users = set(await MemberRepository(self.session).owner_ids(endpoint.org_id))
        statement = select(User.email).where(User.id.in_(users), User.deleted_at.is_(None))
        return sorted(await self.session.scalars(statement))

    async def bind_org(self, org_id: uuid.UUID | None) -> None:
        """Binds this unit of work to the organisation (row-level security on PostgreSQL),
        for work outside a request: a job."""
        if org_id is not None and self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(_SET_TENANT, {"org_id": str(org_id)})

    def _owned(self, owner: Owner) -> Any:
        return select(Endpoint).where(getattr(Endpoint, owner.column) == owner.id)


class DeliveryRepository(Repository[Delivery]):
    model = Delivery

    async def add_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """One INSERT for a write's deliveries (Core's, built once: no ORM bulk path)."""
        await self.session.execute(_ADD_DELIVERIES, list(rows))

    async def list_filtered(
        self, endpoint_id: uuid.UUID, filters: DeliveryFilter, page: PageRequest
    ) -> PageResult[Delivery]:
        statement = filters.filter(self.select().where(Delivery.endpoint_id == endpoint_id))
        return await self.list_page(statement, page)

    async def get_in(
        self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID, *, lock: bool = False
    ) -> Delivery | None:
        statement = select(Delivery).where(
            Delivery.id == delivery_id, Delivery.endpoint_id == endpoint_id
        )
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def change(self, delivery: Delivery, **values: Any) -> Delivery:
        for name, value in values.items():
            setattr(delivery, name, value)
        await self.session.flush()
        return delivery

    async def fail_pending(self, endpoint_id: uuid.UUID, error: str, now: datetime) -> int:
        """The endpoint's deliveries still to be tried give up (it was disabled)."""
        statement = (
            update(Delivery)
            .where(Delivery.endpoint_id == endpoint_id, Delivery.state == DeliveryState.PENDING)
            .values(state=DeliveryState.FAILED, error=error, attempted_at=now)
        )
        result = await self.session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]
