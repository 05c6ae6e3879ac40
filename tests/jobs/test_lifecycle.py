"""A job's life with a worker in the test's process, on a database of its own: enqueued with
its unit of work, claimed by priority once due, retried with backoff, dead after its attempts
or at once when its code or payload is gone, de-duplicated by key, timed out, cancelled."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import SessionDep, create_engine, create_sessionmaker
from app.core.errors import ConflictError
from app.jobs.definitions import JobRegistry, JobType, Schedule
from app.jobs.dependencies import JobServiceDep
from app.jobs.metrics import JobMetrics
from app.jobs.models import Job, JobState
from app.jobs.worker import running_worker
from tests.conftest import http_client, running_app
from tests.jobs.conftest import Jobs
from tests.jobs.types import OTHER, SLOW, WORK, Work, lines, registry_of


async def test_a_job_exists_exactly_when_its_request_committed(
    job_settings: Settings, jobs: Jobs, log: Path
) -> None:
    async with running_app(job_settings) as app, http_client(app) as client:
        app.state.job_registry = jobs.registry
        _add_enqueue_route(app, str(log))
        kept = await client.post("/enqueue/kept")
        refused = await client.post("/enqueue/refused")

    assert kept.status_code == 200
    assert (refused.status_code, refused.json()["error_code"]) == (409, "CONFLICT")
    async with jobs.sessions() as session:
        tags = (await session.scalars(select(Job.payload))).all()
    assert [payload["tag"] for payload in tags] == ["kept"]


async def test_the_embedded_worker_runs_a_job_its_request_enqueued_without_polling(
    job_settings: Settings, registry: JobRegistry, jobs: Jobs, log: Path
) -> None:
    embedded = job_settings.model_copy(update={"jobs_worker": True, "jobs_poll_interval": 60})
    async with running_app(embedded) as app, http_client(app) as client:
        assert app.state.job_registry is not registry
        _add_enqueue_route(app, str(log))
        # The lifespan's worker runs the app's registry: the tests' types are added to it.
        app.state.job_registry.types.update(registry.types)
        await asyncio.sleep(0.2)  # past the worker's first (empty) claim
        started = time.monotonic()
        response = await client.post("/enqueue/woken")
        job = await jobs.wait_for(uuid.UUID(response.json()), JobState.DONE)
        waited = time.monotonic() - started
        metrics = (await client.get("/metrics")).text

    assert job.attempts == 1
    assert lines(log, "done")[0][:2] == ["woken", "1"]
    assert waited < 5  # far below the 60 s poll
    assert 'jobs_runs_total{name="tests.work",outcome="done"} 1.0' in metrics


async def test_a_failing_job_is_retried_with_backoff_then_dead_with_its_last_error(
    job_engine: AsyncEngine,
    job_sessions: async_sessionmaker[AsyncSession],
    registry: JobRegistry,
    job_settings: Settings,
    job_metrics: JobMetrics,
    jobs: Jobs,
    log: Path,
) -> None:
    retried = await jobs.enqueue(WORK, Work(log=str(log), tag="second", fail=1))
    dead = await jobs.enqueue(WORK, Work(log=str(log), tag="never", fail=9))
    async with running_worker(job_engine, job_sessions, registry, job_settings, job_metrics):
        recovered = await jobs.wait_for(retried, JobState.DONE)
        buried = await jobs.wait_for(dead, JobState.DEAD)

    assert (recovered.attempts, recovered.last_error) == (2, None)
    assert (buried.attempts, buried.last_error) == (3, "RuntimeError: try 3 of never failed")
    assert [row[:2] for row in lines(log, "start") if row[0] == "never"] == [
        ["never", "1"],
        ["never", "2"],
        ["never", "3"],
    ]
    assert job_metrics.runs.labels("tests.work", "dead")._value.get() == 1
    assert job_metrics.runs.labels("tests.work", "retry")._value.get() == 3
    assert job_metrics.failures.labels("tests.work")._value.get() == 4


async def test_backoff_doubles_up_to_its_cap_and_jitter_stays_within_half() -> None:
    retry = WORK.retry
    assert [retry.delay(n).total_seconds() for n in (1, 2, 3)] == [0.05, 0.1, 0.2]
    jittered = type(retry)(base=2.0, cap=10.0, jitter=True)
    assert jittered.delay(1, draw=lambda: 0.0) == timedelta(seconds=1)
    assert jittered.delay(1, draw=lambda: 1.0) == timedelta(seconds=2)
    assert jittered.delay(9, draw=lambda: 1.0) == timedelta(seconds=10)


async def test_a_job_with_no_code_or_a_payload_that_no_longer_fits_is_dead_letered(
    job_engine: AsyncEngine,
    job_sessions: async_sessionmaker[AsyncSession],
    job_settings: Settings,
    job_metrics: JobMetrics,
    jobs: Jobs,
    log: Path,
) -> None:
    gone = await jobs.enqueue(OTHER, Work(log=str(log), tag="gone"))
    changed = await jobs.enqueue(WORK, Work(log=str(log), tag="changed"))

    class Renamed(BaseModel):
        path: str

    # Another release: `tests.other` was removed, `tests.work` takes another payload.
    released = JobRegistry([JobType(name="tests.work", payload=Renamed, run=WORK.run)])
    async with running_worker(
        job_engine, job_sessions, released, job_settings, job_metrics, queues={"default", "other"}
    ):
        no_code = await jobs.wait_for(gone, JobState.DEAD)
        misfit = await jobs.wait_for(changed, JobState.DEAD)

    assert (no_code.attempts, no_code.last_error) == (
        1,
        "LookupError: no job type 'tests.other' in this process",
    )
    assert misfit.attempts == 1
    assert misfit.last_error is not None
    assert misfit.last_error.startswith("ValidationError: 1 validation error for Renamed")
    assert lines(log, "start") == []


async def test_a_try_longer_than_the_timeout_fails(
    job_engine: AsyncEngine,
    job_sessions: async_sessionmaker[AsyncSession],
    registry: JobRegistry,
    job_settings: Settings,
    job_metrics: JobMetrics,
    jobs: Jobs,
    log: Path,
) -> None:
    slow = await jobs.enqueue(SLOW, Work(log=str(log), tag="slow", seconds=5))
    async with running_worker(job_engine, job_sessions, registry, job_settings, job_metrics):
        job = await jobs.wait_for(slow, JobState.DEAD)

    assert (job.attempts, job.last_error) == (1, "TimeoutError")
    assert lines(log, "done") == []


async def test_due_jobs_run_highest_priority_first_and_delayed_ones_when_due(
    job_engine: AsyncEngine,
    job_sessions: async_sessionmaker[AsyncSession],
    registry: JobRegistry,
    job_settings: Settings,
    job_metrics: JobMetrics,
    jobs: Jobs,
    log: Path,
) -> None:
    later = await jobs.enqueue(WORK, Work(log=str(log), tag="later"), delay=timedelta(seconds=1))
    for tag, priority in (("low", -1), ("normal", 0), ("high", 5)):
        await jobs.enqueue(WORK, Work(log=str(log), tag=tag), priority=priority)
    async with running_worker(
        job_engine, job_sessions, registry, job_settings, job_metrics, concurrency=1
    ):
        await jobs.wait_for(later, JobState.DONE)
    job = await jobs.get(later)

    assert [row[0] for row in lines(log, "start")] == ["high", "normal", "low", "later"]
    assert job.started_at is not None
    assert job.started_at >= job.created_at + timedelta(seconds=1)


async def test_a_key_holds_at_most_one_ready_job(jobs: Jobs, log: Path) -> None:
    payload = Work(log=str(log), tag="once")
    first = await jobs.enqueue(WORK, payload, key="report:7")
    async with jobs.sessions.begin() as session:
        again = await jobs.service(session).enqueue(WORK, payload, key="report:7")
        other = await jobs.service(session).enqueue(WORK, payload, key="report:8")
        cancelled = await jobs.service(session).cancel(first)
        after = await jobs.service(session).enqueue(WORK, payload, key="report:7")

    assert again is None
    assert other is not None
    assert cancelled.state == JobState.CANCELLED
    assert after is not None
    assert after != first


async def test_a_payload_is_validated_when_enqueued(jobs: Jobs) -> None:
    class Loose(BaseModel):
        tag: object

    unregistered = JobType(name="tests.unknown", payload=Work, run=WORK.run)
    async with jobs.sessions.begin() as session:
        service = jobs.service(session)
        # What mypy refuses is refused at run time too.
        with pytest.raises(TypeError, match=r"job 'tests\.work' takes a Work"):
            await service.enqueue(WORK, Loose(tag="x"))  # type: ignore[misc]
        with pytest.raises(LookupError, match=r"job 'tests\.unknown' is not registered"):
            await service.enqueue(unregistered, Work(log="x", tag="y"))


async def test_a_running_job_that_is_cancelled_is_stopped_by_its_worker(
    job_engine: AsyncEngine,
    job_sessions: async_sessionmaker[AsyncSession],
    registry: JobRegistry,
    job_settings: Settings,
    job_metrics: JobMetrics,
    jobs: Jobs,
    log: Path,
) -> None:
    long = await jobs.enqueue(WORK, Work(log=str(log), tag="long", seconds=20))
    async with running_worker(job_engine, job_sessions, registry, job_settings, job_metrics):
        await jobs.wait_for(long, JobState.RUNNING)
        async with jobs.sessions.begin() as session:
            await jobs.service(session).cancel(long)
        # The renewal (every third of the 1.5 s lease) finds the job is no longer its own.
        deadline = time.monotonic() + 5
        while not job_metrics.lost._value.get():
            assert time.monotonic() < deadline, "the worker did not stop the cancelled job"
            await asyncio.sleep(0.05)
        job = await jobs.get(long)

    assert job.state == JobState.CANCELLED
    assert lines(log, "done") == []


async def test_a_schedule_enqueues_each_tick_once_across_instances(
    job_settings: Settings, job_metrics: JobMetrics, jobs: Jobs, log: Path
) -> None:
    schedule = Schedule(
        name="tests.minutely", cron="* * * * *", job=WORK, payload=Work(log=str(log), tag="tick")
    )
    scheduled = registry_of(schedules=(schedule,))
    now = [datetime(2026, 12, 4, 10, 0, 30, tzinfo=UTC)]
    instances = [create_engine_for(job_settings) for _ in range(2)]
    try:
        async with (
            running_worker(
                instances[0][0],
                instances[0][1],
                scheduled,
                job_settings,
                job_metrics,
                clock=lambda: now[0],
            ),
            running_worker(
                instances[1][0],
                instances[1][1],
                scheduled,
                job_settings,
                job_metrics,
                clock=lambda: now[0],
            ),
        ):
            await asyncio.sleep(0.5)  # the first look records 10:00 and enqueues nothing
            first = await _count(jobs)
            now[0] = datetime(2026, 12, 4, 10, 1, 5, tzinfo=UTC)
            await asyncio.sleep(0.5)
            now[0] = datetime(2026, 12, 4, 10, 1, 40, tzinfo=UTC)
            await asyncio.sleep(0.5)
            second = await _count(jobs)
            # Down from 10:02 to 10:05:10: the missed ticks come to one run, of 10:05.
            now[0] = datetime(2026, 12, 4, 10, 5, 10, tzinfo=UTC)
            await asyncio.sleep(0.5)
            third = await _count(jobs)
    finally:
        for engine, _sessions in instances:
            await engine.dispose()

    assert (first, second, third) == (0, 1, 2)
    assert [row[0] for row in lines(log, "done")] == ["tick", "tick"]


def _add_enqueue_route(app: FastAPI, log: str) -> None:
    """A request that enqueues, then fails when asked to (its unit of work rolls back)."""

    async def enqueue(tag: str, jobs: JobServiceDep, _session: SessionDep) -> str:
        job_id = await jobs.enqueue(WORK, Work(log=log, tag=tag))
        if tag == "refused":
            raise ConflictError("refused after enqueueing")
        return str(job_id)

    app.add_api_route("/enqueue/{tag}", enqueue, methods=["POST"])


def create_engine_for(
    settings: Settings,
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    return engine, create_sessionmaker(engine)


async def _count(jobs: Jobs) -> int:
    async with jobs.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)
