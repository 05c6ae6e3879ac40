"""The generic repository: every feature's SQL goes through a subclass of `Repository`."""

import operator
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    event,
    func,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import (
    InstrumentedAttribute,
    ORMExecuteState,
    Session,
    make_transient_to_detached,
)
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.elements import KeyedColumnElement

from app.core.errors import AlreadyExistsError
from app.core.models import Base, ModelT, SoftDeleteMixin, VersionMixin, utcnow
from app.core.pagination import PageRequest, PageResult, Record, SortKey
from app.core.schemas import CreateT, UpdateT

# Both drivers cap bind parameters per statement near 32767 (SQLite >= 3.32, asyncpg).
MAX_BIND_PARAMS = 32_000
XMAX_IS_ZERO = literal_column("xmax = 0", Boolean).label("inserted")


@dataclass
class UpsertResult(Generic[ModelT]):
    """Rows written by an upsert; ids absent from `items` were left untouched."""

    items: list[ModelT] = field(default_factory=list)
    created_ids: set[uuid.UUID] = field(default_factory=set)

    def add(self, entity: ModelT, *, created: bool) -> None:
        self.items.append(entity)
        if created:
            self.created_ids.add(_attr(entity, "id"))

    @property
    def created(self) -> int:
        return len(self.created_ids)

    @property
    def updated(self) -> int:
        return len(self.items) - len(self.created_ids)


def detached_copy(entity: ModelT, **values: Any) -> ModelT:
    """A copy of a loaded entity's columns (`values` replacing some), in no unit of work: what
    the auth cache shares between requests, which read it and write through repositories."""
    columns = {
        attribute.key: getattr(entity, attribute.key)
        for attribute in inspect(entity).mapper.column_attrs
    }
    copy = type(entity)(**{**columns, **values})
    make_transient_to_detached(copy)
    return copy


def _attr(entity: Base, name: str) -> Any:
    # The generic model type is only known to be a `Base`; mixin columns are read by name.
    return getattr(entity, name)


# Set on a session once its transaction wrote anything (see `Repository.release_connection`).
_WROTE = "app.wrote"


@event.listens_for(Session, "after_flush")
def _mark_flush(session: Session, _context: object) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_write_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _clear_write_mark(session: Session) -> None:
    session.info.pop(_WROTE, None)


def is_unique_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    return getattr(orig, "sqlite_errorname", "") in {
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    }


RowT = TypeVar("RowT")

_BY_ID: dict[tuple[type[Any], bool, str | None, bool], Select[Any]] = {}


class Repository(Generic[ModelT, CreateT, UpdateT]):
    """Holds the session, builds composable selects, flushes and never commits.

    Soft-deleted rows are hidden from every read unless `include_deleted=True`, and updates are
    compare-and-set on `version` when the model has one.
    """

    model: type[ModelT]
    already_exists_message: ClassVar[str] = "Already exists"

    def __init__(self, session: AsyncSession):
        self.session = session

    @property
    def soft_deletes(self) -> bool:
        return issubclass(self.model, SoftDeleteMixin)

    @property
    def versioned(self) -> bool:
        return issubclass(self.model, VersionMixin)

    def column(self, name: str) -> InstrumentedAttribute[Any]:
        attribute: InstrumentedAttribute[Any] = getattr(self.model, name)
        return attribute

    def select(self, *, include_deleted: bool = False) -> Select[tuple[ModelT]]:
        statement = select(self.model)
        if self.soft_deletes and not include_deleted:
            statement = statement.where(self.column("deleted_at").is_(None))
        return statement

    def by_id(
        self, *, include_deleted: bool = False, tenant: str | None = None, for_update: bool = False
    ) -> Select[tuple[ModelT]]:
        """`… WHERE id = :entity_id [AND <tenant> = :tenant_id] [FOR UPDATE]`, built once per
        shape: every read by id runs it, and SQLAlchemy then neither rebuilds it nor recomputes
        its cache key per request."""
        key = (self.model, include_deleted, tenant, for_update)
        statement = _BY_ID.get(key)
        if statement is None:
            statement = self.select(include_deleted=include_deleted)
            statement = statement.where(self.column("id") == bindparam("entity_id"))
            if tenant is not None:
                statement = statement.where(self.column(tenant) == bindparam("tenant_id"))
            if for_update:
                statement = statement.with_for_update()
            _BY_ID[key] = statement
        return statement

    def insert(self, entity: type[Base] | Table | None = None) -> postgresql.Insert | sqlite.Insert:
        """`INSERT` into `entity` (the repository's model by default, or a table: Core's
        insert, without the ORM's bulk path) in the dialect of the session's database, which
        offers `ON CONFLICT … DO NOTHING | DO UPDATE`."""
        target = self.model if entity is None else entity
        if self.session.get_bind().dialect.name == "postgresql":
            return postgresql.insert(target)
        return sqlite.insert(target)

    async def get(self, entity_id: uuid.UUID, *, include_deleted: bool = False) -> ModelT | None:
        statement = self.by_id(include_deleted=include_deleted)
        return (
            await self.session.execute(statement, {"entity_id": entity_id})
        ).scalar_one_or_none()

    async def release_connection(self) -> None:
        """End the transaction early and hand the connection back to the pool: the one
        deliberate break of one-transaction-per-request.

        For slow work that needs no database (password hashing), so that it cannot hold a
        pool slot. Loaded objects stay usable (detached). Ending the transaction rolls back
        what it wrote, so this refuses (a `RuntimeError`, a 500) once anything was written:
        a write before it would otherwise be lost under a 2xx.
        """
        session = self.session.sync_session
        if session.info.get(_WROTE) or session.new or session.dirty or session.deleted:
            raise RuntimeError("release_connection() would roll back this unit of work's writes")
        await self.session.close()

    async def count(self, statement: Select[Any]) -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int((await self.session.execute(counted)).scalar_one())

    async def list_page(
        self, statement: Select[tuple[ModelT]], page: PageRequest
    ) -> PageResult[ModelT]:
        """A page in offset mode (with a total) or keyset mode (after `page.after`)."""
        rows = list((await self.session.execute(self._paged(statement, page))).scalars())
        return await self._page_of(rows, statement, page, getattr)

    async def list_records(
        self, statement: Select[tuple[ModelT]], page: PageRequest, columns: Sequence[str]
    ) -> PageResult[Record]:
        """`list_page` for a page only read: the rows' `columns` as plain mappings, without ORM
        objects (no identity map, no attribute instrumentation), which costs a fraction."""
        table = self.model.__table__.c
        plain = statement.with_only_columns(*(table[name] for name in columns))
        result = await self.session.execute(self._paged(plain, page))
        # Keyed by the column names given (RowMapping also accepts Column objects as keys).
        rows = cast(list[Record], result.mappings().all())
        return await self._page_of(rows, statement, page, operator.getitem)

    def _paged(self, statement: Select[Any], page: PageRequest) -> Select[Any]:
        keys = page.keys
        paged = statement.order_by(*self._order_clauses(keys)).limit(page.limit + 1)
        if page.after is not None:
            return paged.where(self._after(keys, page.after))
        return paged.offset(page.offset or 0)

    async def _page_of(
        self,
        rows: list[RowT],
        statement: Select[Any],
        page: PageRequest,
        value: Callable[[RowT, str], Any],
    ) -> PageResult[RowT]:
        keys = page.keys
        items, more = rows[: page.limit], len(rows) > page.limit
        next_keys = tuple(value(items[-1], key.field) for key in keys) if more else None
        if page.after is not None:
            return PageResult(items, page.limit, None, None, next_keys)
        offset = page.offset or 0
        # The last page already tells the total; otherwise it takes a COUNT.
        total = offset + len(items) if items and not more else await self.count(statement)
        return PageResult(items, page.limit, offset, total, next_keys)

    async def create(self, data: CreateT | None = None, **values: Any) -> ModelT:
        """INSERT one row; a unique violation becomes `AlreadyExistsError`."""
        fields = {**(data.model_dump() if data is not None else {}), **values}
        entity = self.model(**fields)
        self.session.add(entity)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise AlreadyExistsError(self.already_exists_message) from exc
            raise
        return entity

    async def update(
        self,
        entity: ModelT,
        data: UpdateT | Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> ModelT | None:
        """Partial update; `None` when `expected_version` is no longer the stored version."""
        values = data.model_dump(exclude_unset=True) if isinstance(data, BaseModel) else dict(data)
        if not values:
            stale = expected_version is not None and expected_version != _attr(entity, "version")
            return None if stale else entity
        return await self.compare_and_set(entity, values, expected_version=expected_version)

    async def soft_delete(
        self, entity: ModelT, *, expected_version: int | None = None
    ) -> ModelT | None:
        return await self.compare_and_set(
            entity, {"deleted_at": utcnow()}, expected_version=expected_version
        )

    async def restore(self, entity: ModelT) -> ModelT | None:
        return await self.compare_and_set(entity, {"deleted_at": None})

    async def compare_and_set(
        self, entity: ModelT, values: Mapping[str, Any], *, expected_version: int | None = None
    ) -> ModelT | None:
        """`UPDATE … WHERE id = … [AND version = …] RETURNING *`: one atomic compare-and-set."""
        conditions = [self.column("id") == _attr(entity, "id")]
        values = dict(values)
        if self.soft_deletes and "deleted_at" not in values:
            # A row deleted since it was read is not written to.
            conditions.append(self.column("deleted_at").is_(None))
        if self.versioned:
            values["version"] = self.column("version") + 1
            if expected_version is not None:
                conditions.append(self.column("version") == expected_version)
        statement = (
            update(self.model)
            .where(*conditions)
            .values(values)
            .returning(self.model)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        updated: ModelT | None = (await self.session.execute(statement)).scalar_one_or_none()
        return updated

    async def upsert_many(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        update_columns: Sequence[str],
        match_on: Sequence[str] = (),
    ) -> UpsertResult[ModelT]:
        """`INSERT … ON CONFLICT (id) DO UPDATE` in batches under the bind-parameter limit.

        An existing row is only updated when its `match_on` columns equal the incoming ones (an
        owner check, say) and it is not soft-deleted; otherwise it is left as it is and is
        absent from the result.
        """
        result: UpsertResult[ModelT] = UpsertResult()
        defaults = self._defaults()
        prepared = [{**defaults, **row} for row in rows]
        for row in prepared:
            if row.get("id") is None:
                row["id"] = uuid.uuid4()
        if not prepared:
            return result
        batch_size = max(1, MAX_BIND_PARAMS // len(prepared[0]))
        for start in range(0, len(prepared), batch_size):
            await self._upsert_batch(
                prepared[start : start + batch_size], result, update_columns, match_on
            )
        return result

    async def _upsert_batch(
        self,
        batch: list[dict[str, Any]],
        result: UpsertResult[ModelT],
        update_columns: Sequence[str],
        match_on: Sequence[str],
    ) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            upsert_unnested = self._unnest_upsert(batch, update_columns, match_on)
            for entity, inserted in await self.session.execute(upsert_unnested):
                result.add(entity, created=inserted)
            return
        # Rows go as executemany parameters, not a VALUES literal: the statement compiles once
        # and is cached, and SQLAlchemy's "insertmanyvalues" sends it in multi-row pages.
        statement = sqlite.insert(self.model)
        upsert = statement.on_conflict_do_update(
            index_elements=[self.column("id")],
            set_=self._upsert_assignments(statement.excluded, update_columns),
            where=self._upsert_guards(statement.excluded, match_on),
        )
        existing = await self._existing_ids([row["id"] for row in batch])
        # render_nulls keeps NULLs in the column list, so rows with and without a value for an
        # optional column stay in one multi-row statement instead of splitting into many.
        returning = upsert.returning(self.model).execution_options(
            populate_existing=True, render_nulls=True
        )
        for entity in (await self.session.execute(returning, batch)).scalars():
            result.add(entity, created=_attr(entity, "id") not in existing)

    def _unnest_upsert(
        self, batch: list[dict[str, Any]], update_columns: Sequence[str], match_on: Sequence[str]
    ) -> ReturningInsert[tuple[ModelT, bool]]:
        """PostgreSQL's upsert, each written row with whether this statement inserted it."""
        # The rows arrive as one array per column, read back by unnest(): a handful of
        # parameters instead of one per value, far less work for SQLAlchemy, asyncpg and
        # PostgreSQL than a multi-row VALUES.
        names = list(batch[0])
        columns = self.model.__table__.c
        arrays = [
            bindparam(
                name, [row[name] for row in batch], type_=postgresql.ARRAY(columns[name].type)
            )
            for name in names
        ]
        rows = func.unnest(*arrays).table_valued(*names).render_derived(name="batch")
        statement = postgresql.insert(self.model).from_select(names, select(*rows.c))
        upsert = statement.on_conflict_do_update(
            index_elements=[self.column("id")],
            set_=self._upsert_assignments(statement.excluded, update_columns),
            where=self._upsert_guards(statement.excluded, match_on),
        )
        # A row version this statement inserted has xmax 0, one it updated does not: the report
        # is exact, with no SELECT of the existing ids first.
        return upsert.returning(self.model, XMAX_IS_ZERO).execution_options(populate_existing=True)

    def _upsert_assignments(
        self, excluded: ReadOnlyColumnCollection[str, KeyedColumnElement[Any]], names: Sequence[str]
    ) -> dict[str, Any]:
        assignments: dict[str, Any] = {name: excluded[name] for name in names}
        if "updated_at" in self.model.__table__.c:
            assignments["updated_at"] = excluded["updated_at"]
        if self.versioned:
            assignments["version"] = self.column("version") + 1
        return assignments

    def _upsert_guards(
        self,
        excluded: ReadOnlyColumnCollection[str, KeyedColumnElement[Any]],
        match_on: Sequence[str],
    ) -> ColumnElement[bool]:
        guards = [self.column(name) == excluded[name] for name in match_on]
        if self.soft_deletes:
            guards.append(self.column("deleted_at").is_(None))
        return and_(*guards)

    async def _existing_ids(self, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        # Decides created vs updated for the report on SQLite. No other writer can insert the
        # same id in between: the transaction holds SQLite's write lock (BEGIN IMMEDIATE).
        statement = select(self.column("id")).where(self.column("id").in_(ids))
        return set((await self.session.execute(statement)).scalars())

    def _defaults(self) -> dict[str, Any]:
        # A multi-row VALUES needs the same keys in every row, so defaults are filled here.
        now = utcnow()
        columns = self.model.__table__.c
        defaults: dict[str, Any] = {
            name: value
            for name, value in (("created_at", now), ("updated_at", now), ("version", 1))
            if name in columns
        }
        if self.soft_deletes:
            defaults["deleted_at"] = None
        return defaults

    def _order_clauses(self, keys: Sequence[SortKey]) -> list[ColumnElement[Any]]:
        return [
            self.column(key.field).desc() if key.descending else self.column(key.field).asc()
            for key in keys
        ]

    def _after(self, keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after `values` in the order of `keys`."""
        columns = [self.column(key.field) for key in keys]
        bound = [literal(value, column.type) for column, value in zip(columns, values, strict=True)]
        if len({key.descending for key in keys}) == 1:
            # One direction: a row-value comparison, which an index on the keys can serve.
            row, after = tuple_(*columns), tuple_(*bound)
            return row < after if keys[0].descending else row > after
        clauses = []
        for index, key in enumerate(keys):
            equal = [columns[i] == bound[i] for i in range(index)]
            step = (
                columns[index] < bound[index] if key.descending else columns[index] > bound[index]
            )
            clauses.append(and_(*equal, step))
        return or_(*clauses)
