"""An entity's declaration: rules in the service's hooks, declared capabilities, and checks that
a declaration agrees with its model, through HTTP on the real app."""

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from httpx import AsyncClient
from sqlalchemy import Column, MetaData, String, Table, Uuid, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.config import Settings
from app.core.db import service_dependency
from app.core.entity import Entity, Tenancy
from app.core.entity_repository import EntityRepository
from app.core.errors import ConflictError
from app.core.filters import TimestampFilter
from app.core.models import Base, UTCDateTime, utcnow
from app.core.request import Clock
from app.core.routes import EntityRoutes
from app.core.schemas import PatchSchema, RequestSchema, ResponseSchema
from app.core.service import Caller, EntityService
from app.idempotency.dependencies import build_idempotency_service, entity_service
from app.items.entity import ITEMS
from app.items.models import Item
from app.items.repository import ItemRepository
from app.items.schemas import ItemCreate, ItemRead, ItemUpdate
from app.items.service import ItemService
from app.sessions.dependencies import require
from tests.items.factories import create_item
from tests.users.factories import SignedIn, signed_in

GADGETS = replace(ITEMS, name="gadget", plural="gadgets")


class GadgetService(ItemService):
    """Items with two rules: an inactive one keeps its title, and a new one gets a description."""

    async def before_create(self, caller: Caller, data: ItemCreate) -> Mapping[str, Any]:
        return {} if data.description else {"description": f"made by {caller.id}"}

    async def before_update(
        self, caller: Caller, current: Item, changes: ItemUpdate
    ) -> Mapping[str, Any]:
        if not current.is_active and changes.title not in (None, current.title):
            raise ConflictError("An inactive gadget keeps its title")
        return {}


build_gadget_service = entity_service(GadgetService, ItemRepository)


def mount(app: FastAPI, routes: EntityRoutes[Any, Any, Any, Any], prefix: str) -> None:
    for add in (routes.create, routes.bulk_upsert, routes.get, routes.update, routes.delete):
        add()
    app.include_router(routes.router, prefix=prefix)
    app.openapi_schema = None


@pytest.fixture
async def gadgets(app: FastAPI, client: AsyncClient, session: AsyncSession) -> SignedIn:
    routes = EntityRoutes(
        APIRouter(), GADGETS, service=service_dependency(build_gadget_service), caller=require
    )
    mount(app, routes, "/api/v1/gadgets")
    return await signed_in(client, session)


class TestRules:
    async def test_a_create_rule_adds_values(self, client: AsyncClient, gadgets: SignedIn) -> None:
        response = await client.post(
            "/api/v1/gadgets", json={"title": "new"}, headers=gadgets.headers
        )

        assert response.status_code == 201, response.text
        assert response.json()["description"] == f"made by {gadgets.user.id}"

    async def test_an_update_rule_sees_the_current_row_and_refuses(
        self, client: AsyncClient, session: AsyncSession, gadgets: SignedIn
    ) -> None:
        gadget = await create_item(session, owner=gadgets.user, title="old", is_active=False)
        headers = {**gadgets.headers, "If-Match": '"1"'}

        refused = await client.patch(
            f"/api/v1/gadgets/{gadget.id}", json={"title": "new"}, headers=headers
        )
        allowed = await client.patch(
            f"/api/v1/gadgets/{gadget.id}", json={"is_active": True}, headers=headers
        )

        assert refused.status_code == 409
        assert refused.json()["detail"] == "An inactive gadget keeps its title"
        assert (allowed.status_code, allowed.json()["title"]) == (200, "old")

    async def test_a_stale_version_is_412_before_any_rule_runs(
        self, client: AsyncClient, session: AsyncSession, gadgets: SignedIn
    ) -> None:
        gadget = await create_item(session, owner=gadgets.user, is_active=False)

        response = await client.patch(
            f"/api/v1/gadgets/{gadget.id}",
            json={"title": "new"},
            headers={**gadgets.headers, "If-Match": '"7"'},
        )

        assert response.status_code == 412

    async def test_bulk_rows_go_through_the_same_rules(
        self, client: AsyncClient, session: AsyncSession, gadgets: SignedIn
    ) -> None:
        inactive = await create_item(session, owner=gadgets.user, title="old", is_active=False)
        rows = [{"title": "fresh"}, {"id": str(inactive.id), "title": "new", "is_active": False}]

        refused = await client.post(
            "/api/v1/gadgets/bulk", json={"items": rows}, headers=gadgets.headers
        )
        created = await client.post(
            "/api/v1/gadgets/bulk", json={"items": rows[:1]}, headers=gadgets.headers
        )

        assert refused.status_code == 409
        titles = await session.execute(select(Item.title).where(Item.owner_id == gadgets.user.id))
        assert sorted(titles.scalars()) == ["fresh", "old"]
        assert created.json()["items"][0]["description"] == f"made by {gadgets.user.id}"


# An entity that keeps no versions and deletes for good, on a table of its own that each test
# creates inside its rolled-back transaction (outside the app's metadata and migrations).
notes_table = Table(
    "test_notes",
    MetaData(),
    Column("id", Uuid, primary_key=True, default=uuid.uuid4),
    Column("body", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow),
)


class Note(Base):
    __table__ = notes_table


class NoteCreate(RequestSchema):
    body: str


class NoteUpdate(PatchSchema):
    body: str | None = None


class NoteRead(ResponseSchema):
    id: uuid.UUID
    body: str


class NoteFilter(TimestampFilter):
    class Constants(TimestampFilter.Constants):
        model = Note


NOTES = Entity(
    name="note",
    plural="notes",
    model=Note,
    create=NoteCreate,
    update=NoteUpdate,
    read=NoteRead,
    filter=NoteFilter,
    read_permission=ITEMS.read_permission,
    write_permission=ITEMS.write_permission,
    tenancy=Tenancy.NONE,
    soft_delete=False,
    versioned=False,
)


class NoteRepository(EntityRepository[Note, NoteCreate, NoteUpdate, NoteRead]):
    entity = NOTES


def build_note_service(
    session: AsyncSession, settings: Settings, clock: Clock
) -> EntityService[Note, NoteCreate, NoteUpdate, NoteRead]:
    return EntityService(
        NoteRepository(session),
        idempotency=build_idempotency_service(session, clock),
        require_if_match=True,
    )


@pytest.fixture
async def notes(
    app: FastAPI, client: AsyncClient, session: AsyncSession, connection: AsyncConnection
) -> SignedIn:
    await connection.run_sync(lambda sync: notes_table.create(sync))
    routes = EntityRoutes(
        APIRouter(), NOTES, service=service_dependency(build_note_service), caller=require
    )
    mount(app, routes, "/api/v1/notes")
    return await signed_in(client, session)


class TestCapabilities:
    async def test_rows_without_versions_take_no_if_match_and_deletes_are_for_good(
        self, client: AsyncClient, notes: SignedIn
    ) -> None:
        created = await client.post("/api/v1/notes", json={"body": "hi"}, headers=notes.headers)
        url = created.headers["Location"]

        changed = await client.patch(url, json={"body": "hello"}, headers=notes.headers)
        deleted = await client.delete(url, headers=notes.headers)
        again = await client.delete(url, headers=notes.headers)

        assert created.status_code == 201, created.text
        assert "ETag" not in created.headers
        assert (changed.status_code, changed.json()["body"]) == (200, "hello")
        assert "ETag" not in changed.headers
        assert deleted.status_code == 204
        assert again.status_code == 404

    def test_a_hard_deleted_entity_has_no_restore_route(self) -> None:
        routes = EntityRoutes(
            APIRouter(), NOTES, service=service_dependency(build_note_service), caller=require
        )

        with pytest.raises(TypeError, match="nothing to restore"):
            routes.restore()


class TestDeclarationChecks:
    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"soft_delete": False}, "soft_delete is declared False, but the model has"),
            ({"versioned": False}, "versioned is declared False, but the model has"),
            ({"tenancy": Tenancy.NONE}, "tenancy=user is declared False, but the model has"),
            ({"filter": NoteFilter}, "NoteFilter filters another model"),
        ],
    )
    def test_a_declaration_that_disagrees_with_its_model_is_refused(
        self, change: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(TypeError, match=message):
            replace(ITEMS, **change)

    def test_an_owned_entity_filters_with_owned_filter(self) -> None:
        class UnownedItemFilter(TimestampFilter):
            class Constants(TimestampFilter.Constants):
                model = Item

        with pytest.raises(TypeError, match="extends OwnedFilter"):
            replace(ITEMS, filter=UnownedItemFilter)

    def test_a_read_schema_field_must_be_a_column(self) -> None:
        # Pages are read as plain rows: a field no column holds could never be filled.
        class ItemWithExtra(ItemRead):
            is_deleted: bool

        with pytest.raises(TypeError, match="ItemWithExtra: is_deleted not columns of Item"):
            replace(ITEMS, read=ItemWithExtra)

    def test_the_derived_schemas_are_named_after_the_model(self) -> None:
        names = [ITEMS.page, ITEMS.upsert, ITEMS.bulk, ITEMS.bulk_result]

        assert [schema.__name__ for schema in names] == [
            "ItemPage",
            "ItemUpsert",
            "ItemBulk",
            "ItemBulkResult",
        ]
        assert issubclass(ITEMS.upsert, ItemCreate)
        assert ITEMS.read is ItemRead
