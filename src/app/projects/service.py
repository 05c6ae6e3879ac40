from app.core.service import EntityService
from app.projects.models import Project
from app.projects.schemas import ProjectCreate, ProjectRead, ProjectUpdate


class ProjectService(EntityService[Project, ProjectCreate, ProjectUpdate, ProjectRead]):
    """Projects belong to an organisation; rules go in the `before_*` hooks."""
