"""The base of feature services: the rules every entity shares, free of SQL and HTTP."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, cast

from pydantic import BaseModel

from app.core.entity import Entity, Tenancy
from app.core.entity_repository import EntityRepository, RowFilter
from app.core.errors import (
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from app.core.etag import IfMatch
from app.core.events import Change, ChangeFeed
from app.core.idempotency import IdempotencyStore, IdempotentRequest, fingerprint
from app.core.models import ModelT, SoftDeleteMixin, VersionMixin
from app.core.pagination import PageRequest, PageResult, Record
from app.core.repository import Repository
from app.core.schemas import CreateT, ReadT, UpdateT


class Caller(Protocol):
    """Who calls a service: the signed-in user, or a member acting in an organisation (core
    knows no feature's model). A member is a superuser there when they hold every permission
    of the organisation."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def is_superuser(self) -> bool: ...


class OrgCaller(Caller, Protocol):
    """A caller acting in one organisation: the only tenant whose rows they reach."""

    @property
    def org_id(self) -> uuid.UUID: ...


class BulkRequest(Protocol):
    """A bulk upsert's body: rows with an optional `id`."""

    @property
    def items(self) -> Sequence[BaseModel]: ...


@dataclass(frozen=True)
class Created(Generic[ModelT]):
    """A created entity, or the stored first response to a retried request (`replayed`),
    answered as it was stored."""

    body: ModelT | dict[str, Any]
    id: uuid.UUID
    version: int
    replayed: bool = False


@dataclass(frozen=True)
class BulkOutcome(Generic[ModelT]):
    """What a bulk upsert did: counts, the ids it left alone, and the rows it wrote."""

    created: int
    updated: int
    skipped: list[uuid.UUID] = field(default_factory=list)
    items: list[ModelT] = field(default_factory=list)


class Service(Generic[ModelT, CreateT, UpdateT]):
    """Holds the feature's repository; turns missing rows into 404 and stale versions into 412."""

    not_found_message: str = "Not found"

    def __init__(self, repository: Repository[ModelT, CreateT, UpdateT], *, require_if_match: bool):
        self.repository = repository
        self.require_if_match = require_if_match

    def found_or_404(self, entity: ModelT | None) -> ModelT:
        if entity is None:
            raise NotFoundError(self.not_found_message)
        return entity

    def expected_version(self, version: int, if_match: IfMatch | None) -> int | None:
        """The version a write must still find, from the client's `If-Match` (None: any)."""
        if if_match is None:
            if self.require_if_match:
                raise PreconditionRequiredError()
            return None
        if not if_match.matches(version):
            raise PreconditionFailedError()
        return version

    def written_or_412(self, entity: ModelT | None, expected: int | None) -> ModelT:
        """The row a compare-and-set wrote; when nothing matched it changed since or is gone."""
        if entity is None and expected is not None:
            raise PreconditionFailedError()
        return self.found_or_404(entity)


class EntityService(Service[ModelT, CreateT, UpdateT], Generic[ModelT, CreateT, UpdateT, ReadT]):
    """What every entity the API serves does alike, once: tenant scoping (another user's or
    organisation's rows are 404; superusers reach every user's), idempotent create, reads,
    compare-and-set update, delete and restore with `If-Match`, lists with superuser-only
    filters, bulk upsert.

    A feature's rules go in the `before_*` hooks: each runs inside the write, after the row it
    is given was read (and locked) and its version checked, before anything is written; it
    raises to refuse, and the create and update hooks return extra column values to write.
    Bulk upserts run the same hooks, row by row. `tenant_scope` is the hook for another notion
    of whose rows are whose.

    Every write is told to the `feed` (outgoing webhooks) in the same unit of work; a replayed
    idempotent create wrote nothing and tells nothing.
    """

    def __init__(
        self,
        repository: EntityRepository[ModelT, CreateT, UpdateT, ReadT],
        *,
        idempotency: IdempotencyStore,
        require_if_match: bool = False,
        feed: ChangeFeed | None = None,
    ):
        super().__init__(repository, require_if_match=require_if_match)
        self.repository: EntityRepository[ModelT, CreateT, UpdateT, ReadT] = repository
        self.entity: Entity[ModelT, CreateT, UpdateT, ReadT] = repository.entity
        self.idempotency = idempotency
        self.feed = feed
        self.not_found_message = self.entity.not_found

    async def before_create(self, caller: Caller, data: CreateT) -> Mapping[str, Any]:
        """A rule on create; returns column values to write besides `data`'s."""
        return {}

    async def before_update(
        self, caller: Caller, current: ModelT, changes: UpdateT
    ) -> Mapping[str, Any]:
        """A rule on update of `current`; returns column values to write besides `changes`."""
        return {}

    async def before_delete(self, caller: Caller, current: ModelT) -> None:
        """A rule on (soft) delete of `current`."""

    async def before_restore(self, caller: Caller, current: ModelT) -> None:
        """A rule on restore of the soft-deleted `current`."""

    def tenant_scope(self, caller: Caller) -> uuid.UUID | None:
        """The tenant whose rows `caller` reaches, or None for every row (superusers, for
        users' rows, and entities without tenants). An organisation's rows are reached only
        in that organisation, by anyone."""
        if self.entity.tenancy is Tenancy.ORG:
            return _org_of(caller)
        if caller.is_superuser or not self.entity.owned:
            return None
        return caller.id

    def tenant_of_new(self, caller: Caller) -> uuid.UUID | None:
        """The tenant of the rows `caller` creates."""
        if self.entity.tenancy is Tenancy.ORG:
            return _org_of(caller)
        return caller.id if self.entity.owned else None

    async def create(
        self, caller: Caller, data: CreateT, *, idempotency_key: str | None = None
    ) -> Created[ModelT]:
        if idempotency_key is None:
            return _created(await self._insert(caller, data))
        request = IdempotentRequest(
            user_id=caller.id,
            # A key reused in another organisation is another request.
            scope=self.entity.idempotency_scope
            if self.entity.tenancy is not Tenancy.ORG
            else f"{self.entity.idempotency_scope}:{_org_of(caller)}",
            key=idempotency_key,
            body_fingerprint=fingerprint(data.model_dump(mode="json")),
        )
        stored = await self.idempotency.replay(request)
        if stored is not None:
            return Created(
                stored, id=uuid.UUID(str(stored["id"])), version=stored["version"], replayed=True
            )
        entity = await self._insert(caller, data)
        snapshot = self.entity.read.model_validate(entity).model_dump(mode="json")
        await self.idempotency.record(request, snapshot)
        return _created(entity)

    async def get(
        self, caller: Caller, entity_id: uuid.UUID, *, include_deleted: bool = False
    ) -> ModelT:
        scope = self.tenant_scope(caller)
        entity = await self.repository.get_visible(
            entity_id, scope, include_deleted=include_deleted
        )
        return self.found_or_404(entity)

    async def update(
        self, caller: Caller, entity_id: uuid.UUID, data: UpdateT, *, if_match: IfMatch | None
    ) -> ModelT:
        entity = await self._for_write(caller, entity_id)
        expected = self._expected(entity, if_match)
        extra = await self.before_update(caller, entity, data)
        changes = {**data.model_dump(exclude_unset=True), **extra}
        updated = await self.repository.update(entity, changes, expected_version=expected)
        written = self.written_or_412(updated, expected)
        await self._tell(Change.UPDATED, [written])
        return written

    async def delete(
        self, caller: Caller, entity_id: uuid.UUID, *, if_match: IfMatch | None
    ) -> None:
        entity = await self._for_write(caller, entity_id)
        expected = self._expected(entity, if_match)
        await self.before_delete(caller, entity)
        if self.entity.soft_delete:
            deleted = await self.repository.soft_delete(entity, expected_version=expected)
        else:
            deleted = await self.repository.remove(entity, expected_version=expected)
        await self._tell(Change.DELETED, [self.written_or_412(deleted, expected)])

    async def restore(self, caller: Caller, entity_id: uuid.UUID) -> ModelT:
        entity = await self._for_write(caller, entity_id, include_deleted=True)
        if not cast(SoftDeleteMixin, entity).is_deleted:
            return entity
        await self.before_restore(caller, entity)
        restored = self.written_or_412(await self.repository.restore(entity), None)
        await self._tell(Change.RESTORED, [restored])
        return restored

    async def list_page(
        self, caller: Caller, filters: RowFilter, page: PageRequest, *, include_deleted: bool
    ) -> PageResult[Record]:
        by_owner = getattr(filters, "owner_id", None) is not None
        if not caller.is_superuser and (include_deleted or by_owner):
            raise ForbiddenError(
                "owner_id and include_deleted are for superusers"
                if self.entity.owned
                else "include_deleted is for superusers"
                if self.entity.tenancy is Tenancy.NONE
                else "include_deleted is for the organisation's owners"
            )
        scope = self.tenant_scope(caller)
        return await self.repository.list_filtered(
            scope, filters, page, include_deleted=include_deleted
        )

    async def bulk_upsert(self, caller: Caller, data: BulkRequest) -> BulkOutcome[ModelT]:
        """One `INSERT … ON CONFLICT` per batch; a deleted row, or another tenant's, is
        skipped."""
        rows = [row.model_dump() for row in data.items]
        for row in rows:
            row["id"] = row.get("id") or uuid.uuid4()
        if self._has_write_rules():
            await self._apply_rules(caller, data.items, rows)
        result = await self.repository.upsert_rows(self.tenant_of_new(caller), rows)
        written = {_id(entity): entity for entity in result.items}
        created = [entity for entity in result.items if _id(entity) in result.created_ids]
        await self._tell(Change.CREATED, created)
        await self._tell(
            Change.UPDATED, [e for e in result.items if _id(e) not in result.created_ids]
        )
        return BulkOutcome(
            created=result.created,
            updated=result.updated,
            skipped=[row["id"] for row in rows if row["id"] not in written],
            items=[written[row["id"]] for row in rows if row["id"] in written],
        )

    async def _for_write(
        self, caller: Caller, entity_id: uuid.UUID, *, include_deleted: bool = False
    ) -> ModelT:
        entity = await self.repository.get_visible(
            entity_id, self.tenant_scope(caller), include_deleted=include_deleted, for_update=True
        )
        return self.found_or_404(entity)

    def _expected(self, entity: ModelT, if_match: IfMatch | None) -> int | None:
        """The version a write must still find; rows without versions take no `If-Match`."""
        if not self.entity.versioned:
            return None
        return self.expected_version(_version(entity), if_match)

    async def _insert(self, caller: Caller, data: CreateT) -> ModelT:
        column, tenant = self.entity.tenancy.column, self.tenant_of_new(caller)
        owner = {column: tenant} if column is not None else {}
        extra = await self.before_create(caller, data)
        created = await self.repository.create(data, **owner, **extra)
        await self._tell(Change.CREATED, [created])
        return created

    async def _tell(self, change: Change, rows: Sequence[ModelT]) -> None:
        if self.feed is not None and rows:
            await self.feed.changed(self.entity, change, rows)

    def _has_write_rules(self) -> bool:
        hooks = ("before_create", "before_update")
        return any(getattr(type(self), hook) is not getattr(EntityService, hook) for hook in hooks)

    async def _apply_rules(
        self, caller: Caller, items: Sequence[BaseModel], rows: list[dict[str, Any]]
    ) -> None:
        """Each row through the rule of what it will do: update the row it names (read and
        locked), or create one."""
        current = await self.repository.lock_visible(
            [row["id"] for row in rows], self.tenant_scope(caller)
        )
        for item, row in zip(items, rows, strict=True):
            existing = current.get(row["id"])
            if existing is None:
                extra = await self.before_create(caller, cast(CreateT, item))
            else:
                fields = item.model_dump(exclude={"id"}, exclude_unset=True)
                changes = self.entity.update.model_validate(fields)
                extra = await self.before_update(caller, existing, changes)
            row.update(extra)


def _org_of(caller: Caller) -> uuid.UUID:
    org_id = getattr(caller, "org_id", None)
    if not isinstance(org_id, uuid.UUID):
        raise TypeError("An organisation's rows are reached by a caller acting in it (require_org)")
    return org_id


def _created(entity: ModelT) -> Created[ModelT]:
    return Created(entity, id=_id(entity), version=_version(entity))


def _id(entity: Any) -> uuid.UUID:
    identifier: uuid.UUID = entity.id
    return identifier


def _version(entity: ModelT) -> int:
    """The row's version; 0 for an entity that keeps none (it gets no `ETag`)."""
    return cast(VersionMixin, entity).version if isinstance(entity, VersionMixin) else 0
