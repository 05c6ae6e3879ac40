"""Items over HTTP: CRUD with ETags, soft delete, lists, bulk upsert, idempotent create."""

from fastapi import APIRouter

from app.core.errors import PermissionDeniedError, UnauthorizedError, error_responses
from app.core.routes import EntityRoutes, EntitySchemas
from app.items.dependencies import get_item_service
from app.items.filters import ItemListQuery
from app.items.permissions import ITEMS_READ, ITEMS_WRITE
from app.items.schemas import ItemBulk, ItemBulkResult, ItemCreate, ItemPage, ItemRead, ItemUpdate
from app.sessions.dependencies import require

router = APIRouter(
    prefix="/items",
    tags=["items"],
    responses=error_responses(UnauthorizedError, PermissionDeniedError),
)
schemas = EntitySchemas(ItemRead, ItemCreate, ItemUpdate, ItemPage, ItemBulk, ItemBulkResult)
routes = EntityRoutes(
    router,
    "item",
    "items",
    get_item_service,
    schemas,
    ItemListQuery,
    read=require(ITEMS_READ),
    write=require(ITEMS_WRITE),
)

# One line per route: delete a line and write a handler of your own to change that route.
routes.create()
routes.list_page()
routes.bulk_upsert()
routes.get()
routes.update()
routes.delete()
routes.restore()
