"""What a job is, declared once: its name, payload, queue, attempts, timeout and retry policy,
and the code that runs it; and the periodic jobs (schedules)."""

import random
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from cronsim import CronSim, CronSimError
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.request import Clock

PayloadT = TypeVar("PayloadT", bound=BaseModel)
ResourceT = TypeVar("ResourceT")
# The effect noted by a unit of work that enqueued: this process's workers look at once.
WAKE_JOBS = "jobs.wake"
# What PostgreSQL notifies, at commit, to the workers of every process (the queue's name).
CHANNEL = "app_jobs"
NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True)
class Retry:
    """Exponential backoff: `base` seconds before the first retry, doubled each time, at most
    `cap`; with `jitter`, each delay is drawn between half of it and all of it, so jobs that
    failed together do not all come back together."""

    base: float = 2.0
    cap: float = 3600.0
    jitter: bool = True

    def delay(self, attempt: int, draw: Callable[[], float] = random.random) -> timedelta:
        seconds = min(self.cap, self.base * 2 ** (attempt - 1))
        if self.jitter:
            seconds = seconds / 2 + draw() * seconds / 2
        return timedelta(seconds=seconds)


class Abandon(Exception):  # noqa: N818 - what a job does, not an error kind
    """Raised by a job whose try failed in a way no retry can change (a refusal for good): the
    job is dead at once, with this as its last error."""


@dataclass(frozen=True)
class JobContext:
    """What a running job gets besides its payload. It opens its own units of work
    (`sessionmaker.begin()`), so that what it sends elsewhere happens outside a transaction."""

    job_id: uuid.UUID
    attempt: int
    max_attempts: int
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    clock: Clock
    registry: "JobRegistry"
    resources: Mapping[type, object] = field(default_factory=dict)

    @property
    def last_try(self) -> bool:
        return self.attempt >= self.max_attempts

    def resource(self, kind: type[ResourceT]) -> ResourceT:
        """The process's `kind` (a mail sender, an HTTP client), given to the worker."""
        found = self.resources.get(kind)
        if not isinstance(found, kind):
            raise LookupError(f"this worker has no {kind.__name__}")
        return found


@dataclass(frozen=True, kw_only=True)
class JobType(Generic[PayloadT]):
    """A kind of job. `run` is called with the validated payload; raising fails the try (it is
    retried after `retry`'s delay until `max_attempts`, then the job is dead); a try longer
    than `timeout` seconds fails as `TimeoutError`."""

    name: str
    payload: type[PayloadT]
    run: Callable[[PayloadT, JobContext], Awaitable[None]]
    queue: str = "default"
    max_attempts: int = 5
    timeout: float = 300.0
    retry: Retry = Retry()
    priority: int = 0

    def __post_init__(self) -> None:
        if not NAME.match(self.name) or not NAME.match(self.queue):
            raise ValueError(f"job {self.name!r}: names are dotted lower-case words")
        if self.max_attempts < 1 or self.timeout <= 0:
            raise ValueError(f"job {self.name!r}: max_attempts >= 1 and timeout > 0")


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """`job` enqueued at each tick of `cron` (five fields, UTC), with `payload` (the payload
    type's defaults when None). Ticks missed while no instance ran are coalesced: the most
    recent one runs once, the older ones are skipped."""

    name: str
    cron: str
    job: JobType[Any]
    payload: BaseModel | None = None

    def __post_init__(self) -> None:
        try:
            CronSim(self.cron, datetime.now(UTC))
        except CronSimError as error:
            raise ValueError(f"schedule {self.name!r}: {error}") from error

    def latest_tick(self, now: datetime) -> datetime:
        """The most recent tick at or before `now`."""
        # Walking back, CronSim skips its start: one second on makes `now` itself a candidate.
        start = now.replace(microsecond=0) + timedelta(seconds=1)
        return next(CronSim(self.cron, start, reverse=True))

    def next_tick(self, now: datetime) -> datetime:
        return next(CronSim(self.cron, now))

    def job_payload(self) -> BaseModel:
        return self.payload if self.payload is not None else self.job.payload()


class JobRegistry:
    """The job types and schedules this process knows; a job whose name is unknown here has no
    code to run (it is dead-lettered, never dropped)."""

    def __init__(self, types: Iterable[JobType[Any]], schedules: Iterable[Schedule] = ()):
        self.types: dict[str, JobType[Any]] = {}
        for job_type in types:
            if job_type.name in self.types:
                raise ValueError(f"job {job_type.name!r} is declared twice")
            self.types[job_type.name] = job_type
        self.schedules = tuple(schedules)
        for schedule in self.schedules:
            if schedule.job.name not in self.types:
                raise ValueError(f"schedule {schedule.name!r}: its job is not registered")

    def get(self, name: str) -> JobType[Any] | None:
        return self.types.get(name)

    def resolve(self, job_type: JobType[PayloadT]) -> JobType[PayloadT]:
        """The registered declaration of `job_type`: the same one, or one the process's
        settings configured from it (`dataclasses.replace`: attempts, backoff, timeout)."""
        registered = self.types.get(job_type.name)
        if registered is None or registered.payload is not job_type.payload:
            raise LookupError(f"job {job_type.name!r} is not registered")
        return registered

    def queues(self) -> set[str]:
        return {job_type.queue for job_type in self.types.values()}
