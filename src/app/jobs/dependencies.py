from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.request import Clock
from app.identity.dependencies import build_audit_log
from app.jobs.definitions import JobRegistry
from app.jobs.repository import JobRepository
from app.jobs.service import JobPolicy, JobService
from app.state import app_state


def build_job_service(
    session: AsyncSession, settings: Settings, registry: JobRegistry, clock: Clock = utcnow
) -> JobService:
    """Also for code outside a request: the worker, the CLI, a job enqueueing another."""
    policy = JobPolicy(
        lease=timedelta(seconds=settings.jobs_lease),
        keep_done=settings.jobs_keep_done,
        keep_dead=settings.jobs_keep_dead,
    )
    return JobService(
        JobRepository(session),
        registry=registry,
        policy=policy,
        clock=clock,
        audit=build_audit_log(session, clock=clock),
    )


async def get_job_service(request: Request, session: SessionDep) -> JobService:
    """Enqueues in the request's unit of work."""
    state = app_state(request)
    return build_job_service(session, state.settings, state.job_registry, state.clock)


JobServiceDep = Annotated[JobService, Depends(get_job_service)]
