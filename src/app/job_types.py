"""Every job type and schedule of the app, listed: what the workers run. Each feature declares
its own next to the code they run; a job whose type is not here is dead-lettered."""

from typing import Any

from app.jobs.definitions import JobRegistry, JobType, Schedule
from app.jobs.maintenance import PURGE_JOBS, PURGE_SCHEDULE

JOB_TYPES: tuple[JobType[Any], ...] = (PURGE_JOBS,)
SCHEDULES: tuple[Schedule, ...] = (PURGE_SCHEDULE,)


def job_registry() -> JobRegistry:
    return JobRegistry(JOB_TYPES, SCHEDULES)
