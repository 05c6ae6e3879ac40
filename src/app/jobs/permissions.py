from app.core.permissions import declare

JOBS_ADMIN = declare("jobs:admin", "List and read background jobs, retry and cancel them")
