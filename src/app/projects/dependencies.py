from app.core.db import service_dependency
from app.idempotency.dependencies import entity_service
from app.projects.repository import ProjectRepository
from app.projects.service import ProjectService

build_project_service = entity_service(ProjectService, ProjectRepository)
get_project_service = service_dependency(build_project_service)
