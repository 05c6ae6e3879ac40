"""Projects over HTTP: CRUD with ETags, soft delete, lists, bulk upsert, idempotent create."""

from fastapi import APIRouter

from app.core.errors import NotFoundError, PermissionDeniedError, UnauthorizedError, error_responses
from app.core.routes import EntityRoutes
from app.orgs.dependencies import require_org
from app.projects.dependencies import get_project_service
from app.projects.entity import PROJECTS

router = APIRouter(
    prefix="/orgs/{org_id:uuid}/projects",
    tags=["projects"],
    responses=error_responses(UnauthorizedError, PermissionDeniedError, NotFoundError),
)
routes = EntityRoutes(router, PROJECTS, service=get_project_service, caller=require_org)

# One line per route: delete a line and write a handler of your own to change that route.
routes.create()
routes.list_page()
routes.bulk_upsert()
routes.get()
routes.update()
routes.delete()
routes.restore()
