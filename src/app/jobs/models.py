from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow


class JobState(StrEnum):
    """`ready` (waiting for `run_at`, a retry included) → `running` (leased to a worker) →
    `done`, back to `ready` (a failed try with attempts left, an expired lease, a released
    one), or `dead` (out of attempts, or no code for it); `ready` or `running` → `cancelled`.
    `dead` and `cancelled` jobs may be retried: `ready` again."""

    READY = "ready"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"


ENDED = (JobState.DONE, JobState.DEAD, JobState.CANCELLED)
READY = text("state = 'ready'")
RUNNING = text("state = 'running'")


class Job(Base, UUIDPrimaryKeyMixin):
    """A unit of work to run outside the request, inserted in the unit of work that decided
    it: it exists exactly when that change committed."""

    __tablename__ = "jobs"

    name: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default=JobState.READY)
    # Higher runs first among the jobs due.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int]
    # At most one ready job per key (a unique index over ready rows).
    key: Mapped[str | None] = mapped_column(String(200), default=None)
    # The worker holding a running job, until `lease_until` unless it renews the lease.
    worker: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(1000), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


# The claim's walk: a queue's ready jobs, highest priority first, then oldest due.
Index(
    "ix_jobs_ready",
    Job.queue,
    Job.priority.desc(),
    Job.run_at,
    Job.id,
    postgresql_where=READY,
    sqlite_where=READY,
)
Index("uq_jobs_key", Job.key, unique=True, postgresql_where=READY, sqlite_where=READY)
Index("ix_jobs_lease", Job.lease_until, postgresql_where=RUNNING, sqlite_where=RUNNING)
Index("ix_jobs_finished_at", Job.finished_at)
Index("ix_jobs_created_at", Job.created_at, Job.id)


class JobSchedule(Base):
    """The last tick of a periodic job that was enqueued: moving it forward and enqueueing
    the tick's job happen in one transaction, which one instance wins."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_tick: Mapped[datetime]
