import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.pagination import PageRequest, PageResult
from app.core.request import Clock
from app.identity.service import AuditLog, Target
from app.jobs.audit import JOB_CANCELLED, JOB_RETRIED
from app.jobs.definitions import Abandon, JobRegistry, JobType, PayloadT, Schedule
from app.jobs.filters import JobFilter
from app.jobs.models import ENDED, Job, JobState
from app.jobs.repository import JobRepository, NewJob, QueueStats

# What `last_error` keeps of an error's text.
ERROR_CHARS = 1000


@dataclass(frozen=True)
class JobPolicy:
    # How long a claimed job is its worker's unless the worker renews the lease.
    lease: timedelta
    keep_done: timedelta
    keep_dead: timedelta


class Outcome(Enum):
    DONE = "done"
    RETRY = "retry"
    DEAD = "dead"
    # The job stopped being this worker's while it ran (cancelled, or its lease lapsed).
    LOST = "lost"


class JobService:
    """Jobs enqueued in the caller's unit of work, and their lifecycle (see `JobState`): what
    the API and the CLI do to them, and what the worker records of each try."""

    def __init__(
        self,
        repository: JobRepository,
        *,
        registry: JobRegistry,
        policy: JobPolicy,
        clock: Clock,
        audit: AuditLog,
    ):
        self.repository = repository
        self.registry = registry
        self.policy = policy
        self.clock = clock
        self.audit = audit

    async def enqueue(
        self,
        job_type: JobType[PayloadT],
        payload: PayloadT,
        *,
        delay: timedelta | None = None,
        run_at: datetime | None = None,
        priority: int | None = None,
        key: str | None = None,
    ) -> uuid.UUID | None:
        """A job that exists once this unit of work commits, due after `delay` (or at
        `run_at`); None when a ready job already holds `key`."""
        job_type = self.registry.resolve(job_type)
        now = self.clock()
        due = run_at or now + (delay or timedelta())
        job = NewJob(
            name=job_type.name,
            queue=job_type.queue,
            payload=_checked(job_type, payload),
            run_at=max(due, now),
            priority=job_type.priority if priority is None else priority,
            max_attempts=job_type.max_attempts,
            key=key,
        )
        return await self.repository.enqueue(job, now=now)

    async def list_page(self, filters: JobFilter, page: PageRequest) -> PageResult[Job]:
        return await self.repository.list_filtered(filters, page)

    async def get(self, job_id: uuid.UUID) -> Job:
        job = await self.repository.get(job_id)
        if job is None:
            raise NotFoundError("Job not found")
        return job

    async def retry(self, job_id: uuid.UUID, *, actor_id: uuid.UUID | None = None) -> Job:
        """A dead or cancelled job, ready again now with all its attempts; `actor_id` is who
        asked (none from the CLI)."""
        job = await self._locked(job_id)
        if job.state not in (JobState.DEAD, JobState.CANCELLED):
            raise ConflictError(
                f"Only a dead or cancelled job can be retried; this one is {job.state}"
            )
        was = job.state
        changed = await self.repository.change(
            job, state=JobState.READY, attempts=0, run_at=self.clock(), finished_at=None
        )
        await self._record(JOB_RETRIED, changed, actor_id, was)
        return changed

    async def cancel(self, job_id: uuid.UUID, *, actor_id: uuid.UUID | None = None) -> Job:
        """A ready job, or a running one (its worker stops it at its next lease renewal)."""
        job = await self._locked(job_id)
        if job.state not in (JobState.READY, JobState.RUNNING):
            raise ConflictError(
                f"Only a ready or running job can be cancelled; this one is {job.state}"
            )
        was = job.state
        changed = await self.repository.change(
            job, state=JobState.CANCELLED, worker=None, lease_until=None, finished_at=self.clock()
        )
        await self._record(JOB_CANCELLED, changed, actor_id, was)
        return changed

    async def purge(self, states: tuple[JobState, ...], older_than: timedelta) -> int:
        """Remove ended jobs that finished more than `older_than` ago."""
        if not set(states) <= set(ENDED):
            raise InvalidInputError("Only done, dead or cancelled jobs can be purged")
        return await self.repository.purge(states, self.clock() - older_than)

    async def purge_expired(self) -> int:
        """What `JOBS_KEEP_DONE` and `JOBS_KEEP_DEAD` no longer keep."""
        done = await self.purge((JobState.DONE,), self.policy.keep_done)
        ended = await self.purge((JobState.DEAD, JobState.CANCELLED), self.policy.keep_dead)
        return done + ended

    async def claim(self, queues: set[str], *, worker: str, limit: int) -> list[Job]:
        return await self.repository.claim(
            queues, worker=worker, now=self.clock(), lease=self.policy.lease, limit=limit
        )

    async def renew(self, worker: str, job_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        return await self.repository.renew(worker, job_ids, self.clock() + self.policy.lease)

    async def finished(self, jobs: list[Job], worker: str) -> set[uuid.UUID]:
        """Record the tries of `jobs` that succeeded; the ids returned were still `worker`'s
        (the others were cancelled, or went to another worker meanwhile)."""
        tries = [(job.id, job.attempts) for job in jobs]
        return await self.repository.finish(worker, tries, self.clock())

    async def failed(self, job: Job, worker: str, error: BaseException) -> Outcome:
        """Ready again after the job type's backoff, or dead: out of attempts, abandoned, or its
        payload or code no longer fit (no retry can change that)."""
        job_type = self.registry.get(job.name)
        described = _described(error)[:ERROR_CHARS]
        now = self.clock()
        hopeless = isinstance(error, ValidationError | Abandon) or job.attempts >= job.max_attempts
        if job_type is None or hopeless:
            values: dict[str, Any] = {"state": JobState.DEAD, "finished_at": now}
            outcome = Outcome.DEAD
        else:
            values = {"state": JobState.READY, "run_at": now + job_type.retry.delay(job.attempts)}
            outcome = Outcome.RETRY
        settled = await self.repository.settle(
            job.id, worker=worker, attempt=job.attempts, last_error=described, **values
        )
        return outcome if settled else Outcome.LOST

    async def release(self, worker: str, job_ids: set[uuid.UUID]) -> int:
        return await self.repository.release(worker, job_ids, self.clock())

    async def expire_leases(self) -> int:
        return await self.repository.expire_leases(self.clock())

    async def tick(self, schedule: Schedule, last_seen: datetime | None) -> datetime:
        """Enqueue `schedule`'s job for its latest tick, unless another instance did; the tick
        returned is the latest one, to skip the database until the next. A schedule seen for
        the first time starts at its next tick."""
        tick = schedule.latest_tick(self.clock())
        if last_seen is not None and tick <= last_seen:
            return tick
        if await self.repository.advance_schedule(schedule.name, tick):
            # One pending job per schedule: a tick due while the last one still waits is skipped.
            await self.enqueue(
                schedule.job, schedule.job_payload(), key=f"schedule:{schedule.name}"
            )
        return tick

    async def stats(self) -> tuple[list[QueueStats], int]:
        """Per queue, the jobs due; and how many are dead."""
        return await self.repository.stats(self.clock()), await self.repository.count_in(
            JobState.DEAD
        )

    async def _record(self, action: str, job: Job, actor_id: uuid.UUID | None, was: str) -> None:
        details = {"name": job.name, "was": str(was)}
        await self.audit.record(
            action, actor_id=actor_id, target=Target("job", job.id), details=details
        )

    async def _locked(self, job_id: uuid.UUID) -> Job:
        job = await self.repository.get_for_update(job_id)
        if job is None:
            raise NotFoundError("Job not found")
        return job


def _checked(job_type: JobType[Any], payload: BaseModel) -> dict[str, Any]:
    """The payload as stored (JSON), proven to load back as the job type's model."""
    if not isinstance(payload, job_type.payload):
        raise TypeError(f"job {job_type.name!r} takes a {job_type.payload.__name__}")
    stored: dict[str, Any] = payload.model_dump(mode="json")
    job_type.payload.model_validate(stored)
    return stored


def _described(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
