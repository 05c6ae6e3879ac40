"""A job worker: claims due jobs, runs each as a task under its timeout, renews the leases of
those running, and keeps the queue (expired leases, schedules, the metrics' snapshot). The
embedded one runs inside `app serve`; `app worker` runs one as its own process."""

import asyncio
import contextlib
import os
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Collection, Mapping
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_read_sessionmaker
from app.core.models import utcnow
from app.core.request import Clock
from app.core.tasks import running
from app.jobs.definitions import CHANNEL, JobContext, JobRegistry
from app.jobs.dependencies import build_job_service
from app.jobs.metrics import JobMetrics
from app.jobs.models import Job
from app.jobs.service import JobService, Outcome

logger = structlog.get_logger(__name__)
T = TypeVar("T")

# Seconds between reads of the queues for the metrics.
STATS_INTERVAL = 15.0
# Seconds before a lost LISTEN connection is opened again.
RELISTEN_DELAY = 2.0


def worker_id() -> str:
    """Which process holds a job: host, pid, and a nonce for a pid reused after a restart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Runs up to `concurrency` jobs of `queues` (every registered queue when None) at once.
    Nothing a job does ends the loops: a failure is recorded against the job (retried, or
    dead), and a failing pass (the database down) is logged, counted and tried again.

    Claims, renewals and outcomes are single statements, sent through `statements` (sessions
    without BEGIN and COMMIT on PostgreSQL); successes are recorded in batches, one statement
    for all the jobs that finished while the previous batch was written."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        registry: JobRegistry,
        settings: Settings,
        metrics: JobMetrics,
        *,
        statements: async_sessionmaker[AsyncSession] | None = None,
        queues: Collection[str] | None = None,
        concurrency: int | None = None,
        clock: Clock = utcnow,
        resources: Mapping[type, object] | None = None,
    ):
        self.sessionmaker = sessionmaker
        self.statements = statements or sessionmaker
        self.registry = registry
        self.settings = settings
        self.metrics = metrics
        self.queues = set(queues) if queues is not None else registry.queues()
        self.concurrency = concurrency or settings.jobs_concurrency
        self.clock = clock
        self.resources = resources or {}
        self.id = worker_id()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # Tries running (their tasks), and the jobs this worker holds: running, or finished and
        # not yet recorded. A job no longer its own (cancelled, lease lost) is `lost`.
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._held: dict[uuid.UUID, Job] = {}
        self._lost: set[uuid.UUID] = set()
        self._succeeded: list[tuple[Job, float]] = []
        self._to_record = asyncio.Event()
        self._full = False
        self._ticks: dict[str, datetime] = {}
        self._stats_at = 0.0
        self._running = False
        # When the claims loop last showed it was alive (`time.monotonic()`).
        self.last_beat = time.monotonic()

    def wake(self, queue: str | None = None) -> None:
        if queue is None or queue in self.queues:
            self._wake.set()

    async def woken(self, queues: set[Any]) -> None:
        """The `WAKE_JOBS` hook: a unit of work of this process that enqueued committed."""
        if self.queues & queues:
            self._wake.set()

    def stalled(self) -> bool:
        """Running but silent for longer than a pass can take, the database down included
        (readiness reports it)."""
        bound = self.settings.jobs_poll_interval + 2 * self.settings.db_connect_timeout + 30
        return not self._running or time.monotonic() - self.last_beat > bound

    async def run(self) -> None:
        """Until `stop()`: then running jobs get `SHUTDOWN_TIMEOUT` seconds to finish, and
        those still running are released, to be claimed again at once elsewhere."""
        self._running = True
        try:
            async with (
                running(self._renewals(), "jobs-renewals"),
                running(self._maintenance(), "jobs-maintenance"),
                running(self._recordings(), "jobs-recordings"),
            ):
                await self._claims()
                await self._drain()
        finally:
            self._running = False

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _claims(self) -> None:
        while not self._stopping.is_set():
            self.last_beat = time.monotonic()
            self._wake.clear()
            free = self.concurrency - len(self._tasks)
            if free > 0 and self.queues:
                claimed = await self._attempt(self._claim(free))
                self._full = claimed == free
                if self._full:
                    continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.jobs_poll_interval):
                    await self._wake.wait()

    async def _claim(self, limit: int) -> int:
        async with self.statements.begin() as session:
            jobs = await self._service(session).claim(self.queues, worker=self.id, limit=limit)
        for job in jobs:
            if job.id in self._held:
                # Its lease lapsed while this worker held it (the database was out of reach):
                # the earlier try is lost, this one takes its place.
                self._lose(job.id)
                self._lost.discard(job.id)
                self._succeeded = [done for done in self._succeeded if done[0].id != job.id]
            self._held[job.id] = job
            self._tasks[job.id] = asyncio.create_task(self._run(job), name=f"job-{job.id}")
        return len(jobs)

    async def _run(self, job: Job) -> None:
        started = time.perf_counter()
        try:
            await self._call(job)
        except asyncio.CancelledError:
            if job.id not in self._lost or self._held.get(job.id) is not job:
                raise  # stopping (the job is released), or a later try took its place
            self._release_place(job)
        except Exception as error:  # it counts against this job, never the worker
            await self._attempt(self._record_failure(job, error, time.perf_counter() - started))
            self._release_place(job)
        else:
            self._succeeded.append((job, time.perf_counter() - started))
            self._to_record.set()
        finally:
            if self._tasks.get(job.id) is asyncio.current_task():
                del self._tasks[job.id]
            if self._full:
                self._wake.set()

    async def _call(self, job: Job) -> None:
        job_type = self.registry.get(job.name)
        if job_type is None:
            raise LookupError(f"no job type {job.name!r} in this process")
        payload = job_type.payload.model_validate(job.payload)
        context = JobContext(
            job_id=job.id,
            attempt=job.attempts,
            max_attempts=job.max_attempts,
            sessionmaker=self.sessionmaker,
            settings=self.settings,
            clock=self.clock,
            registry=self.registry,
            resources=self.resources,
        )
        async with asyncio.timeout(job_type.timeout):
            await job_type.run(payload, context)

    async def _record_failure(self, job: Job, error: BaseException, seconds: float) -> None:
        """If the database is down, the lease runs out and the job runs again (at least once)."""
        async with self.statements.begin() as session:
            outcome = await self._service(session).failed(job, self.id, error)
        self._count(job, outcome, seconds)
        self.metrics.failures.labels(job.name).inc()
        logger.warning(
            "job_dead" if outcome is Outcome.DEAD else "job_failed",
            job_id=str(job.id),
            job=job.name,
            attempt=job.attempts,
            error=type(error).__name__,
        )

    async def _recordings(self) -> None:
        while True:
            await self._to_record.wait()
            self._to_record.clear()
            if not await self._attempt(self._record_successes()):
                # Kept for the next pass; meanwhile the renewals keep the leases.
                await asyncio.sleep(self.settings.jobs_poll_interval)

    async def _record_successes(self) -> bool:
        batch, self._succeeded = self._succeeded, []
        if not batch:
            return True
        try:
            async with self.statements.begin() as session:
                kept = await self._service(session).finished([job for job, _ in batch], self.id)
        except BaseException:
            self._succeeded = batch + self._succeeded
            self._to_record.set()
            raise
        for job, seconds in batch:
            self._count(job, Outcome.DONE if job.id in kept else Outcome.LOST, seconds)
            self._release_place(job)
        return True

    def _count(self, job: Job, outcome: Outcome, seconds: float) -> None:
        self.metrics.runs.labels(job.name, outcome.value).inc()
        self.metrics.duration.labels(job.name).observe(seconds)

    def _release_place(self, job: Job) -> None:
        """This try is over and recorded: forget the job, unless a later try of it is held."""
        if self._held.get(job.id) is job:
            del self._held[job.id]
            self._lost.discard(job.id)

    def _lose(self, job_id: uuid.UUID) -> None:
        logger.info("job_lost", job_id=str(job_id))
        self.metrics.lost.inc()
        self._lost.add(job_id)
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()

    async def _renewals(self) -> None:
        while True:
            await asyncio.sleep(self.settings.jobs_lease / 3)
            if self._held:
                await self._attempt(self._renew())

    async def _renew(self) -> None:
        held = {job_id for job_id in self._held if job_id not in self._lost}
        async with self.statements.begin() as session:
            kept = await self._service(session).renew(self.id, held)
        for job_id in held - kept:
            if job_id in self._tasks:
                self._lose(job_id)

    async def _maintenance(self) -> None:
        while True:
            await self._attempt(self._keep())
            await asyncio.sleep(self.settings.jobs_poll_interval)

    async def _keep(self) -> None:
        async with self.sessionmaker.begin() as session:
            service = self._service(session)
            if await service.expire_leases():
                self._wake.set()
            for schedule in self.registry.schedules:
                self._ticks[schedule.name] = await service.tick(
                    schedule, self._ticks.get(schedule.name)
                )
            if time.monotonic() - self._stats_at > STATS_INTERVAL:
                await self._read_stats(service)

    async def _read_stats(self, service: JobService) -> None:
        queues, dead = await service.stats()
        now = self.clock()
        snapshot = self.metrics.snapshot
        snapshot.ready = dict.fromkeys(self.registry.queues(), 0)
        snapshot.oldest_age = dict.fromkeys(self.registry.queues(), 0.0)
        for stats in queues:
            snapshot.ready[stats.queue] = stats.ready
            if stats.oldest_due is not None:
                age = (now - stats.oldest_due).total_seconds()
                snapshot.oldest_age[stats.queue] = max(age, 0.0)
        snapshot.dead, snapshot.taken_at = dead, now
        self._stats_at = time.monotonic()

    async def _drain(self) -> None:
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=self.settings.shutdown_timeout)
        unfinished = set(self._tasks)
        for job_id in unfinished:
            self._tasks[job_id].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._attempt(self._record_successes())
        if unfinished:
            async with self.statements.begin() as session:
                released = await self._service(session).release(self.id, unfinished)
            logger.info("jobs_released", count=released)

    async def _attempt(self, work: Awaitable[T]) -> T | None:
        try:
            return await work
        except Exception as error:  # the database, or a bug: the next pass retries
            self.metrics.worker_errors.inc()
            logger.warning("jobs_worker_error", error=type(error).__name__, detail=str(error))
            return None

    def _service(self, session: AsyncSession) -> JobService:
        return build_job_service(session, self.settings, self.registry, self.clock)


async def listen(engine: AsyncEngine, worker: Worker) -> None:
    """Wake `worker` when a commit anywhere enqueued on its queues (PostgreSQL NOTIFY); a lost
    connection is opened again, and meanwhile polling finds the jobs."""
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            connection = await asyncpg.connect(dsn, timeout=worker.settings.db_connect_timeout)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            logger.warning("jobs_listen_unavailable", error=type(error).__name__)
            await asyncio.sleep(RELISTEN_DELAY)
            continue
        try:
            await _listen_on(connection, worker)
        except (OSError, asyncpg.PostgresError) as error:
            logger.warning("jobs_listen_lost", error=type(error).__name__)
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=1)
        await asyncio.sleep(RELISTEN_DELAY)


async def _listen_on(connection: asyncpg.Connection, worker: Worker) -> None:
    """Until the connection is lost."""
    closed = asyncio.Event()
    connection.add_termination_listener(lambda _connection: closed.set())
    await connection.add_listener(CHANNEL, lambda *args: worker.wake(args[-1]))
    worker.wake()  # what was enqueued while no one listened
    await closed.wait()


@contextlib.asynccontextmanager
async def running_worker(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    registry: JobRegistry,
    settings: Settings,
    metrics: JobMetrics,
    **options: Any,
) -> AsyncIterator[Worker]:
    """A worker for the duration of the block, and its LISTEN connection on PostgreSQL
    (`JOBS_LISTEN`); at the block's end it stops and drains."""
    statements = create_read_sessionmaker(engine) or sessionmaker
    worker = Worker(sessionmaker, registry, settings, metrics, statements=statements, **options)
    async with contextlib.AsyncExitStack() as stack:
        # A transaction pooler hands the LISTEN's server connection to others between
        # transactions: notifications would go astray, so workers poll.
        pooled = settings.db_pooler == "transaction"
        if settings.jobs_listen and not pooled and engine.dialect.name == "postgresql":
            await stack.enter_async_context(running(listen(engine, worker), "jobs-listen"))
        task = asyncio.create_task(worker.run(), name="jobs-worker")
        try:
            yield worker
        finally:
            worker.stop()
            await asyncio.wait([task], timeout=settings.shutdown_timeout + 5)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def embedded_worker(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    registry: JobRegistry,
    settings: Settings,
    metrics: JobMetrics,
    resources: Mapping[type, object],
) -> AsyncIterator[Worker | None]:
    """`app serve`'s worker; None with `JOBS_WORKER=false` (`app worker` processes run them)."""
    if not settings.jobs_worker:
        yield None
        return
    async with running_worker(
        engine, sessionmaker, registry, settings, metrics, resources=resources
    ) as worker:
        yield worker
