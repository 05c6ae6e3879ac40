"""The repository of an entity the API serves: rows optionally owned by a user or an
organisation, read through filters and pages, written in bulk. A feature's repository names its
entity; the SQL is here, once."""

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Protocol

from sqlalchemy import Select, delete

from app.core.entity import Entity
from app.core.models import ModelT
from app.core.pagination import PageRequest, PageResult, Record
from app.core.repository import Repository, UpsertResult
from app.core.schemas import CreateT, ReadT, UpdateT


class RowFilter(Protocol):
    """A list's filters (a feature's `ListFilter`)."""

    def filter(self, query: Any) -> Any: ...


class EntityRepository(
    Repository[ModelT, CreateT, UpdateT], Generic[ModelT, CreateT, UpdateT, ReadT]
):
    """Rows of an entity, as its declaration says: owned, soft-deleted, versioned.

    `tenant_id` arguments scope reads and writes to one tenant's rows (a user's `owner_id`, an
    organisation's `org_id`); None means every row (superusers, and every caller of an entity
    that has no tenant).
    """

    entity: ClassVar[Entity[Any, Any, Any, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "entity" in vars(cls):
            cls.model = cls.entity.model

    @property
    def owned(self) -> bool:
        return self.entity.owned

    @property
    def soft_deletes(self) -> bool:
        return self.entity.soft_delete

    @property
    def versioned(self) -> bool:
        return self.entity.versioned

    def visible(
        self, tenant_id: uuid.UUID | None, *, include_deleted: bool = False
    ) -> Select[tuple[ModelT]]:
        statement = self.select(include_deleted=include_deleted)
        tenant = self.entity.tenancy.column
        if tenant_id is not None and tenant is not None:
            statement = statement.where(self.column(tenant) == tenant_id)
        return statement

    async def get_visible(
        self,
        entity_id: uuid.UUID,
        tenant_id: uuid.UUID | None,
        *,
        include_deleted: bool = False,
        for_update: bool = False,
    ) -> ModelT | None:
        """The row, if `tenant_id` reaches it; `for_update` locks it until the unit of work
        ends, so that a rule and the write that follows see the same row."""
        tenant = self.entity.tenancy.column if tenant_id is not None else None
        statement = self.by_id(
            include_deleted=include_deleted, tenant=tenant, for_update=for_update
        )
        values = (
            {"entity_id": entity_id}
            if tenant is None
            else {"entity_id": entity_id, "tenant_id": tenant_id}
        )
        return (await self.session.execute(statement, values)).scalar_one_or_none()

    async def lock_visible(
        self, ids: Sequence[uuid.UUID], tenant_id: uuid.UUID | None
    ) -> dict[uuid.UUID, ModelT]:
        """The live rows among `ids` that `tenant_id` reaches, locked (for a bulk write's rules)."""
        statement = self.visible(tenant_id).where(self.column("id").in_(ids)).with_for_update()
        rows = (await self.session.execute(statement)).scalars()
        return {row.id: row for row in rows}  # type: ignore[attr-defined]

    async def remove(self, entity: ModelT, *, expected_version: int | None = None) -> ModelT | None:
        """`DELETE … WHERE id = … [AND version = …]`: the row, or None when nothing matched."""
        statement = delete(self.model).where(self.column("id") == entity.id)  # type: ignore[attr-defined]
        if expected_version is not None:
            statement = statement.where(self.column("version") == expected_version)
        result = await self.session.execute(statement.returning(self.column("id")))
        return entity if result.first() is not None else None

    async def list_filtered(
        self,
        tenant_id: uuid.UUID | None,
        filters: RowFilter,
        page: PageRequest,
        *,
        include_deleted: bool,
    ) -> PageResult[Record]:
        statement = filters.filter(self.visible(tenant_id, include_deleted=include_deleted))
        return await self.list_records(statement, page, self.entity.columns)

    async def upsert_rows(
        self, tenant_id: uuid.UUID | None, rows: Sequence[dict[str, Any]]
    ) -> UpsertResult[ModelT]:
        """Creates new rows (the tenant's, `tenant_id`); updates existing live ones, only where
        they are the tenant's, in the columns the rows carry."""
        tenant = self.entity.tenancy.column
        columns = tuple(name for name in next(iter(rows), {}) if name not in ("id", tenant))
        if tenant_id is None or tenant is None:
            return await self.upsert_many(rows, update_columns=columns)
        scoped = [{**row, tenant: tenant_id} for row in rows]
        return await self.upsert_many(scoped, update_columns=columns, match_on=(tenant,))
