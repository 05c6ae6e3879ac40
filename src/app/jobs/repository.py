import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, tuple_, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.exc import IntegrityError

from app.core.db import after_commit
from app.core.errors import AlreadyExistsError
from app.core.pagination import PageRequest, PageResult
from app.core.repository import Repository, is_unique_violation
from app.jobs.definitions import CHANNEL, WAKE_JOBS
from app.jobs.filters import JobFilter
from app.jobs.models import READY, Job, JobSchedule, JobState

_ENQUEUE: dict[tuple[str, bool], Any] = {}


@dataclass(frozen=True)
class NewJob:
    name: str
    queue: str
    payload: dict[str, Any]
    run_at: datetime
    priority: int
    max_attempts: int
    key: str | None = None


@dataclass(frozen=True)
class QueueStats:
    queue: str
    ready: int
    oldest_due: datetime | None


class JobRepository(Repository[Job]):
    model = Job

    async def enqueue(self, job: NewJob, *, now: datetime) -> uuid.UUID | None:
        """Insert `job`; None when a ready job already holds its key. On PostgreSQL the same
        statement notifies the workers, which PostgreSQL delivers at commit, and only then."""
        values = {**vars(job), "id": uuid.uuid4(), "created_at": now, "state": JobState.READY}
        statement = self._enqueue_statement(keyed=job.key is not None)
        job_id: uuid.UUID | None = (await self.session.execute(statement, values)).scalar()
        if job_id is not None:
            after_commit(self.session, WAKE_JOBS, job.queue)
        return job_id

    def _enqueue_statement(self, *, keyed: bool) -> Any:
        # Built once per dialect, and Core's plain INSERT unless a key needs ON CONFLICT: the
        # dialects' inserts are never in SQLAlchemy's compiled cache (`inherit_cache` is off),
        # and constructing and compiling one cost a request that queues a webhook or a mail
        # about 0.8 ms of CPU.
        dialect = self.session.get_bind().dialect.name
        statement = _ENQUEUE.get((dialect, keyed))
        if statement is None:
            table = cast(Table, Job.__table__)
            if keyed:
                insert: Any = self.insert(table).on_conflict_do_nothing(
                    index_elements=["key"], index_where=READY
                )
            else:
                insert = sql_insert(table)
            statement = insert.returning(table.c.id)
            if dialect == "postgresql":
                statement = statement.returning(func.pg_notify(CHANNEL, table.c.queue))
            _ENQUEUE[(dialect, keyed)] = statement
        return statement

    async def claim(
        self, queues: Collection[str], *, worker: str, now: datetime, lease: timedelta, limit: int
    ) -> list[Job]:
        """Up to `limit` due jobs of `queues`, leased to `worker`: highest priority first, then
        oldest due. PostgreSQL skips rows another claim holds (`FOR UPDATE SKIP LOCKED`);
        SQLite's write transactions run one at a time."""
        due = (
            select(Job.id)
            .where(Job.state == JobState.READY, Job.queue.in_(queues), Job.run_at <= now)
            .order_by(Job.priority.desc(), Job.run_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(Job)
            .where(Job.id.in_(due.scalar_subquery()))
            .values(
                state=JobState.RUNNING,
                worker=worker,
                lease_until=now + lease,
                started_at=now,
                attempts=Job.attempts + 1,
            )
            .returning(Job)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        return list((await self.session.execute(statement)).scalars())

    async def renew(
        self, worker: str, job_ids: Collection[uuid.UUID], until: datetime
    ) -> set[uuid.UUID]:
        """Extend the leases `worker` still holds; the ids returned are those it holds."""
        statement = (
            update(Job)
            .where(Job.id.in_(job_ids), Job.worker == worker, Job.state == JobState.RUNNING)
            .values(lease_until=until)
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        return set((await self.session.execute(statement)).scalars())

    async def settle(self, job_id: uuid.UUID, *, worker: str, attempt: int, **values: Any) -> bool:
        """Record how the try `attempt` of a job held by `worker` ended; False when the job is
        no longer its (cancelled, or its lease expired and another worker took it)."""
        statement = (
            update(Job)
            .where(
                Job.id == job_id,
                Job.worker == worker,
                Job.attempts == attempt,
                Job.state == JobState.RUNNING,
            )
            .values(worker=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def finish(
        self, worker: str, tries: Collection[tuple[uuid.UUID, int]], now: datetime
    ) -> set[uuid.UUID]:
        """Mark done the tries (job id, attempt) that succeeded, in one statement; the ids
        returned are those `worker` still held."""
        statement = (
            update(Job)
            .where(
                tuple_(Job.id, Job.attempts).in_(tries),
                Job.worker == worker,
                Job.state == JobState.RUNNING,
            )
            .values(
                state=JobState.DONE, worker=None, lease_until=None, finished_at=now, last_error=None
            )
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
        return set((await self.session.execute(statement)).scalars())

    async def release(self, worker: str, job_ids: Collection[uuid.UUID], now: datetime) -> int:
        """Give back jobs `worker` did not finish (it is stopping): ready at once, the try not
        counted."""
        statement = (
            update(Job)
            .where(Job.id.in_(job_ids), Job.worker == worker, Job.state == JobState.RUNNING)
            .values(
                state=JobState.READY,
                worker=None,
                lease_until=None,
                run_at=now,
                attempts=Job.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )
        return int((await self.session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def expire_leases(self, now: datetime) -> int:
        """Running jobs whose worker stopped renewing (it died): ready again, or dead when that
        was their last attempt."""
        expired = (Job.state == JobState.RUNNING, Job.lease_until < now)
        dead = (
            update(Job)
            .where(*expired, Job.attempts >= Job.max_attempts)
            .values(
                state=JobState.DEAD,
                worker=None,
                lease_until=None,
                finished_at=now,
                last_error="LeaseExpired: its worker stopped during the last attempt",
            )
            .execution_options(synchronize_session=False)
        )
        again = (
            update(Job)
            .where(*expired)
            .values(state=JobState.READY, worker=None, lease_until=None, run_at=now)
            .execution_options(synchronize_session=False)
        )
        buried = await self.session.execute(dead)
        revived = await self.session.execute(again)
        return int(buried.rowcount + revived.rowcount)  # type: ignore[attr-defined]

    async def list_filtered(self, filters: JobFilter, page: PageRequest) -> PageResult[Job]:
        return await self.list_page(filters.filter(self.select()), page)

    async def get_for_update(self, job_id: uuid.UUID) -> Job | None:
        statement = self.by_id(for_update=True)
        return (await self.session.execute(statement, {"entity_id": job_id})).scalar_one_or_none()

    async def change(self, job: Job, **values: Any) -> Job:
        """Write `values` to a job read under its lock (`get_for_update`); a job made ready
        while another ready one holds its key is an `AlreadyExistsError`."""
        for name, value in values.items():
            setattr(job, name, value)
        try:
            await self.session.flush()
        except IntegrityError as error:
            if is_unique_violation(error):
                raise AlreadyExistsError("A ready job already holds this job's key") from error
            raise
        return job

    async def purge(self, states: Sequence[JobState], finished_before: datetime) -> int:
        statement = delete(Job).where(Job.state.in_(states), Job.finished_at < finished_before)
        return int((await self.session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def stats(self, now: datetime) -> list[QueueStats]:
        """Per queue: jobs due and not yet running, and when the oldest of them fell due."""
        statement = (
            select(Job.queue, func.count(), func.min(Job.run_at))
            .where(Job.state == JobState.READY, Job.run_at <= now)
            .group_by(Job.queue)
        )
        rows = (await self.session.execute(statement)).all()
        return [QueueStats(queue, count, oldest) for queue, count, oldest in rows]

    async def count_in(self, state: JobState) -> int:
        statement = select(func.count()).select_from(Job).where(Job.state == state)
        return int((await self.session.execute(statement)).scalar_one())

    async def advance_schedule(self, name: str, tick: datetime) -> bool:
        """Move schedule `name` to `tick` if it is behind: True for the one caller that did. A
        schedule new to the database starts at `tick` (False: no tick of it was due before)."""
        first = self.insert(JobSchedule).values(name=name, last_tick=tick)
        new = first.on_conflict_do_nothing(index_elements=["name"]).returning(JobSchedule.name)
        if (await self.session.execute(new)).scalar() is not None:
            return False
        moved = (
            update(JobSchedule)
            .where(JobSchedule.name == name, JobSchedule.last_tick < tick)
            .values(last_tick=tick)
            .execution_options(synchronize_session=False)
        )
        return bool((await self.session.execute(moved)).rowcount)  # type: ignore[attr-defined]
