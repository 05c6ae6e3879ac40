"""The queue's own periodic job: ended jobs go once their keeping time is over."""

from pydantic import BaseModel

from app.jobs.definitions import JobContext, JobType, Schedule
from app.jobs.dependencies import build_job_service


class PurgePayload(BaseModel):
    pass


async def purge_jobs(_payload: PurgePayload, context: JobContext) -> None:
    async with context.sessionmaker.begin() as session:
        service = build_job_service(session, context.settings, context.registry, context.clock)
        await service.purge_expired()


PURGE_JOBS = JobType(name="jobs.purge", payload=PurgePayload, run=purge_jobs, max_attempts=3)
PURGE_SCHEDULE = Schedule(name="jobs.purge", cron="17 * * * *", job=PURGE_JOBS)
