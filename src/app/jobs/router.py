"""Background jobs for operators (`jobs:admin`): list and read them, retry dead or cancelled
ones, cancel ready or running ones."""

import uuid
from typing import Annotated

from fastapi import APIRouter

from app.core.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
    error_responses,
)
from app.core.pagination import PageResult
from app.identity.models import User
from app.jobs.dependencies import JobServiceDep
from app.jobs.filters import JobListQuery
from app.jobs.models import Job
from app.jobs.permissions import JOBS_ADMIN
from app.jobs.schemas import JobPage, JobRead
from app.sessions.dependencies import require

router = APIRouter(
    prefix="/jobs",
    tags=["jobs"],
    responses=error_responses(UnauthorizedError, ForbiddenError, PermissionDeniedError),
)
Admin = Annotated[User, require(JOBS_ADMIN)]


@router.get("", response_model=JobPage)
async def list_jobs(_admin: Admin, jobs: JobServiceDep, query: JobListQuery) -> PageResult[Job]:
    """Jobs, newest first by default; filter by `state`, `name` and `queue`."""
    return query.signed(await jobs.list_page(query.filters, query.page))


@router.get("/{job_id:uuid}", response_model=JobRead, responses=error_responses(NotFoundError))
async def read_job(job_id: uuid.UUID, _admin: Admin, jobs: JobServiceDep) -> Job:
    """One job, with its last error."""
    return await jobs.get(job_id)


@router.post(
    "/{job_id:uuid}/retry",
    response_model=JobRead,
    responses=error_responses(NotFoundError, ConflictError, AlreadyExistsError),
)
async def retry_job(job_id: uuid.UUID, admin: Admin, jobs: JobServiceDep) -> Job:
    """A dead or cancelled job, ready again now with all its attempts (409 in any other state,
    or when a ready job holds its key)."""
    return await jobs.retry(job_id, actor_id=admin.id)


@router.post(
    "/{job_id:uuid}/cancel",
    response_model=JobRead,
    responses=error_responses(NotFoundError, ConflictError),
)
async def cancel_job(job_id: uuid.UUID, admin: Admin, jobs: JobServiceDep) -> Job:
    """A ready job, which then never runs, or a running one, stopped by its worker within a
    third of `JOBS_LEASE` (409 once it ended)."""
    return await jobs.cancel(job_id, actor_id=admin.id)
