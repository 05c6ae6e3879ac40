from app.core.entity_repository import EntityRepository
from app.projects.entity import PROJECTS
from app.projects.models import Project
from app.projects.schemas import ProjectCreate, ProjectRead, ProjectUpdate


class ProjectRepository(EntityRepository[Project, ProjectCreate, ProjectUpdate, ProjectRead]):
    entity = PROJECTS
