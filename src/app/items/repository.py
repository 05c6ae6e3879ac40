import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select

from app.core.pagination import PageParams, PageResult
from app.core.repository import Repository, UpsertResult
from app.items.filters import ItemFilter
from app.items.models import Item
from app.items.schemas import ItemCreate, ItemUpdate


class ItemRepository(Repository[Item, ItemCreate, ItemUpdate]):
    model = Item

    def visible(
        self, owner_id: uuid.UUID | None, *, include_deleted: bool = False
    ) -> Select[tuple[Item]]:
        """Items an owner may see; `owner_id=None` (superusers) sees everyone's."""
        statement = self.select(include_deleted=include_deleted)
        if owner_id is not None:
            statement = statement.where(Item.owner_id == owner_id)
        return statement

    async def get_visible(
        self, item_id: uuid.UUID, owner_id: uuid.UUID | None, *, include_deleted: bool = False
    ) -> Item | None:
        statement = self.visible(owner_id, include_deleted=include_deleted).where(
            Item.id == item_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_filtered(
        self,
        owner_id: uuid.UUID | None,
        filters: ItemFilter,
        params: PageParams,
        *,
        include_deleted: bool,
    ) -> PageResult[Item]:
        statement = filters.filter(self.visible(owner_id, include_deleted=include_deleted))
        return await self.list_page(statement, params=params, sort=filters.sort_keys())

    async def upsert_owned(
        self, owner_id: uuid.UUID, rows: Sequence[dict[str, Any]]
    ) -> UpsertResult[Item]:
        """Creates new rows; updates existing ones only when `owner_id` owns them."""
        owned = [{**row, "owner_id": owner_id} for row in rows]
        return await self.upsert_many(
            owned, update_columns=("title", "description", "is_active"), match_on=("owner_id",)
        )
