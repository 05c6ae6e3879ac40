import uuid

from app.core.errors import ForbiddenError
from app.core.etag import IfMatch
from app.core.pagination import PageParams, PageResult
from app.core.service import BulkOutcome, Created, Service
from app.idempotency.service import IdempotencyService, IdempotentRequest, fingerprint
from app.items.filters import ItemFilter
from app.items.models import Item
from app.items.repository import ItemRepository
from app.items.schemas import ItemBulk, ItemCreate, ItemRead, ItemUpdate
from app.users.models import User

IDEMPOTENCY_SCOPE = "items.create"


class ItemService(Service[Item, ItemCreate, ItemUpdate]):
    """Items belong to their owner: anyone else gets 404 (superusers see all).

    Updates and deletes are compare-and-set on `version` when the client sends `If-Match`.
    """

    not_found_message = "Item not found"

    def __init__(
        self,
        repository: ItemRepository,
        *,
        idempotency: IdempotencyService,
        require_if_match: bool = False,
    ):
        super().__init__(repository, require_if_match=require_if_match)
        self.repository: ItemRepository = repository
        self.idempotency = idempotency

    async def create(
        self, user: User, data: ItemCreate, *, idempotency_key: str | None = None
    ) -> Created[Item]:
        if idempotency_key is None:
            return Created(await self.repository.create(data, owner_id=user.id))
        request = IdempotentRequest(
            user_id=user.id,
            scope=IDEMPOTENCY_SCOPE,
            key=idempotency_key,
            body_fingerprint=fingerprint(data.model_dump(mode="json")),
        )
        stored = await self.idempotency.replay(request)
        if stored is not None:
            return Created(Item(**ItemRead.model_validate(stored).model_dump()), replayed=True)
        item = await self.repository.create(data, owner_id=user.id)
        snapshot = ItemRead.model_validate(item).model_dump(mode="json")
        await self.idempotency.record(request, snapshot)
        return Created(item)

    async def get(self, user: User, item_id: uuid.UUID, *, include_deleted: bool = False) -> Item:
        return self.found_or_404(
            await self.repository.get_visible(
                item_id, self._owner_scope(user), include_deleted=include_deleted
            )
        )

    async def update(
        self, user: User, item_id: uuid.UUID, data: ItemUpdate, *, if_match: IfMatch | None
    ) -> Item:
        item = await self.get(user, item_id)
        expected = self.expected_version(item.version, if_match)
        updated = await self.repository.update(item, data, expected_version=expected)
        return self.written_or_412(updated, expected)

    async def delete(self, user: User, item_id: uuid.UUID, *, if_match: IfMatch | None) -> None:
        item = await self.get(user, item_id)
        expected = self.expected_version(item.version, if_match)
        self.written_or_412(
            await self.repository.soft_delete(item, expected_version=expected), expected
        )

    async def restore(self, user: User, item_id: uuid.UUID) -> Item:
        item = await self.get(user, item_id, include_deleted=True)
        if not item.is_deleted:
            return item
        return self.written_or_412(await self.repository.restore(item), None)

    async def list_page(
        self, user: User, filters: ItemFilter, params: PageParams, *, include_deleted: bool
    ) -> PageResult[Item]:
        if not user.is_superuser and (filters.owner_id is not None or include_deleted):
            raise ForbiddenError("owner_id and include_deleted are for superusers")
        return await self.repository.list_filtered(
            self._owner_scope(user), filters, params, include_deleted=include_deleted
        )

    async def bulk_upsert(self, user: User, data: ItemBulk) -> BulkOutcome[Item]:
        """One `INSERT … ON CONFLICT` per batch; another user's (or a deleted) row is skipped."""
        rows = [{**row.model_dump(), "id": row.id or uuid.uuid4()} for row in data.items]
        result = await self.repository.upsert_owned(user.id, rows)
        written = {item.id: item for item in result.items}
        return BulkOutcome(
            created=result.created,
            updated=result.updated,
            skipped=[row["id"] for row in rows if row["id"] not in written],
            items=[written[row["id"]] for row in rows if row["id"] in written],
        )

    def _owner_scope(self, user: User) -> uuid.UUID | None:
        return None if user.is_superuser else user.id
