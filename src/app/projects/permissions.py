from app.core.permissions import declare

PROJECTS_READ = declare("projects:read", "Read the organisation's projects", org=True)
PROJECTS_WRITE = declare(
    "projects:write", "Create, change, delete and restore the organisation's projects", org=True
)
