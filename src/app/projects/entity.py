from app.core.entity import Entity, Tenancy
from app.projects.filters import ProjectFilter
from app.projects.models import Project
from app.projects.permissions import PROJECTS_READ, PROJECTS_WRITE
from app.projects.schemas import ProjectCreate, ProjectRead, ProjectUpdate

PROJECTS = Entity(
    name="project",
    plural="projects",
    model=Project,
    create=ProjectCreate,
    update=ProjectUpdate,
    read=ProjectRead,
    filter=ProjectFilter,
    read_permission=PROJECTS_READ,
    write_permission=PROJECTS_WRITE,
    tenancy=Tenancy.ORG,
)
