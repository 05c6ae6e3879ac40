"""`EntityRoutes`: the standard routes under the entity's names, and one replaced by a feature's
own handler, through HTTP on the real app (items' service and schemas, mounted as "gadgets")."""

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.routes import EntityRoutes
from app.identity.models import User
from app.items.dependencies import ItemServiceDep, get_item_service
from app.items.entity import ITEMS
from app.items.models import Item
from app.items.permissions import ITEMS_READ
from app.items.schemas import ItemCreate, ItemRead, ItemUpdate
from app.sessions.dependencies import require
from tests.users.factories import signed_in

STANDARD = {
    "create_gadget": ("POST", "/api/v1/gadgets"),
    "list_gadgets": ("GET", "/api/v1/gadgets"),
    "bulk_upsert_gadgets": ("POST", "/api/v1/gadgets/bulk"),
    "get_gadget": ("GET", "/api/v1/gadgets/{gadget_id}"),
    "update_gadget": ("PATCH", "/api/v1/gadgets/{gadget_id}"),
    "delete_gadget": ("DELETE", "/api/v1/gadgets/{gadget_id}"),
    "restore_gadget": ("POST", "/api/v1/gadgets/{gadget_id}/restore"),
}


def gadget_routes(router: APIRouter) -> EntityRoutes[Item, ItemCreate, ItemUpdate, ItemRead]:
    gadgets = replace(ITEMS, name="gadget", plural="gadgets")
    return EntityRoutes(router, gadgets, service=get_item_service, caller=require)


def operations(app: FastAPI) -> dict[str, tuple[str, str]]:
    return {
        operation["operationId"]: (method.upper(), path)
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
        if path.startswith("/api/v1/gadgets")
    }


def mount(app: FastAPI, router: APIRouter) -> None:
    app.include_router(router, prefix="/api/v1/gadgets")
    app.openapi_schema = None


class TestEntityRoutes:
    async def test_every_route_is_named_after_the_entity(self, app: FastAPI) -> None:
        router = APIRouter()
        routes = gadget_routes(router)
        for add in (
            routes.create,
            routes.list_page,
            routes.bulk_upsert,
            routes.get,
            routes.update,
            routes.delete,
            routes.restore,
        ):
            add()
        mount(app, router)

        assert operations(app) == STANDARD
        get = app.openapi()["paths"]["/api/v1/gadgets/{gadget_id}"]["get"]
        assert [p["name"] for p in get["parameters"]] == ["gadget_id"]
        assert get["description"].startswith("One gadget, with its `ETag`.")
        assert get["description"].endswith("Requires the permission `items:read`.")

    async def test_a_route_replaced_by_the_features_own_handler(
        self, app: FastAPI, client: AsyncClient, session: AsyncSession
    ) -> None:
        owner = await signed_in(client, session)
        router = APIRouter()
        routes = gadget_routes(router)
        routes.create()

        @router.get("/{gadget_id:uuid}")
        async def get_gadget(
            gadget_id: uuid.UUID,
            user: Annotated[User, require(ITEMS_READ)],
            service: ItemServiceDep,
        ) -> dict[str, str]:
            """The feature's own read."""
            item = await service.get(user, gadget_id)
            return {"title": item.title.upper()}

        mount(app, router)

        created = await client.post(
            "/api/v1/gadgets", json={"title": "made here"}, headers=owner.headers
        )
        assert created.status_code == 201, created.text
        read = await client.get(created.headers["Location"], headers=owner.headers)
        assert read.json() == {"title": "MADE HERE"}
        assert operations(app) == {name: STANDARD[name] for name in ("create_gadget", "get_gadget")}
