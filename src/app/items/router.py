"""Items over HTTP: CRUD with ETags, soft delete, lists, bulk upsert, idempotent create."""

from fastapi import APIRouter

from app.core.errors import PermissionDeniedError, UnauthorizedError, error_responses
from app.core.routes import EntityRoutes
from app.items.dependencies import get_item_service
from app.items.entity import ITEMS
from app.sessions.dependencies import require

router = APIRouter(
    prefix="/items",
    tags=["items"],
    responses=error_responses(UnauthorizedError, PermissionDeniedError),
)
routes = EntityRoutes(router, ITEMS, service=get_item_service, caller=require)

# One line per route: delete a line and write a handler of your own to change that route.
routes.create()
routes.list_page()
routes.bulk_upsert()
routes.get()
routes.update()
routes.delete()
routes.restore()
