"""Jobs and webhooks on PostgreSQL: worker throughput, the delay from a commit to its job's
start, and what a subscribed webhook endpoint adds to `POST /items`.

    uv run python -m bench.jobs [--jobs 20000] [--processes 1,2,4] [--delays 500]

- **Throughput**: `--jobs` no-op jobs committed at once, then run by 1, 2 and 4 `app worker`
  processes (default settings: JOBS_CONCURRENCY, LISTEN/NOTIFY): jobs per second from the
  commit until the last one is done, the median of `--rounds`.
- **Delay**: one idle worker process; `--delays` jobs enqueued one at a time, each in its own
  committed unit of work, waiting for each to start: from the commit returning to the job's
  `started_at` (the worker's claim, woken by NOTIFY), p50 and p99.
- **POST /items**: CPU per request in process, as `bench.tenancy` times reads, for a user
  with no webhook endpoint and for one whose endpoint subscribes to `item.created` (each
  request then also writes the delivery and its job); the median of the rounds.
"""

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import uvloop
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import app.job_types
from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.jobs.definitions import JobContext, JobRegistry, JobType
from app.jobs.dependencies import build_job_service
from app.jobs.models import READY, RUNNING, Job
from app.main import create_app
from bench.layers import call
from bench.runner import admin, with_database
from bench.server import APP_ENVIRONMENT
from bench.tenancy import migrate


class Nothing(BaseModel):
    pass


async def _nothing(payload: Nothing, context: JobContext) -> None:
    return None


NOOP = JobType(name="bench.noop", payload=Nothing, run=_nothing)


@contextmanager
def workers(count: int, database_url: str, log: Path) -> Iterator[None]:
    """`count` worker processes, each up (logged `worker_started`) before this yields."""
    environment = {**os.environ, **APP_ENVIRONMENT, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "bench.jobs", "worker"]
    logs = [log.with_suffix(f".{number}.log") for number in range(count)]
    processes = [
        subprocess.Popen(command, env=environment, stdout=path.open("w"), stderr=subprocess.STDOUT)
        for path in logs
    ]
    try:
        deadline = time.monotonic() + 30
        while not all("worker_started" in path.read_text() for path in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError("a worker did not start: " + logs[0].read_text()[-2000:])
            time.sleep(0.05)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def enqueue(sessions: async_sessionmaker[AsyncSession], settings: Settings, n: int) -> None:
    registry = JobRegistry([NOOP])
    async with sessions.begin() as session:
        service = build_job_service(session, settings, registry)
        for _ in range(n):
            await service.enqueue(NOOP, Nothing())


async def pending(engine: AsyncEngine) -> bool:
    """Whether a job is still ready or running (both found through partial indexes, so
    asking often does not slow the workers down)."""
    ready, running = (select(Job.id).where(state).exists() for state in (READY, RUNNING))
    async with engine.connect() as connection:
        return bool((await connection.execute(select(or_(ready, running)))).scalar_one())


async def clear(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(delete(Job))


async def throughput(settings: Settings, engine: AsyncEngine, jobs: int, log: Path) -> float:
    """Jobs per second, the jobs committed with the workers already idle and listening."""
    sessions = create_sessionmaker(engine)
    await clear(engine)
    started = time.perf_counter()
    await enqueue(sessions, settings, jobs)
    committed = time.perf_counter()
    while await pending(engine):  # noqa: ASYNC110 - other processes run them
        await asyncio.sleep(0.01)
    print(f"    enqueued in {committed - started:.1f} s", file=sys.stderr)
    return jobs / (time.perf_counter() - committed)


async def delays(settings: Settings, engine: AsyncEngine, count: int) -> list[float]:
    """Milliseconds from each commit to its job's start, one job at a time."""
    sessions = create_sessionmaker(engine)
    registry = JobRegistry([NOOP])
    measured: list[float] = []
    for _ in range(count):
        async with sessions.begin() as session:
            job_id = await build_job_service(session, settings, registry).enqueue(NOOP, Nothing())
            committing = time.time()  # the commit's round trip counts
        while True:
            async with engine.connect() as connection:
                started_at = (
                    await connection.execute(select(Job.started_at).where(Job.id == job_id))
                ).scalar_one()
            if started_at is not None:
                break
            await asyncio.sleep(0.001)
        measured.append((started_at.timestamp() - committing) * 1000)
    return measured


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def post_items_cpu(app: FastAPI, subscribe: bool, requests: int) -> float:
    """CPU µs per `POST /items` of a new user, subscribed or not."""
    account = orjson.dumps(
        {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "a benchmark's password"}
    )
    await call(app, "/api/v1/auth/register", "", method="POST", body=account, status=201)
    login = await call(app, "/api/v1/auth/login", "", method="POST", body=account)
    token = orjson.loads(login)["access_token"]
    if subscribe:
        endpoint = {"url": "https://example.com/hooks", "events": ["item.created"]}
        body = orjson.dumps(endpoint)
        await call(app, "/api/v1/webhooks", token, method="POST", body=body, status=201)
    item = b'{"title": "an item"}'
    for _ in range(requests // 10):
        await call(app, "/api/v1/items", token, method="POST", body=item, status=201)
    started = time.process_time()
    for _ in range(requests):
        await call(app, "/api/v1/items", token, method="POST", body=item, status=201)
    return (time.process_time() - started) / requests * 1e6


async def measure_post_items(database_url: str, requests: int, rounds: int, log: Path) -> None:
    os.environ.update({**APP_ENVIRONMENT, "DATABASE_URL": database_url})
    application = create_app(Settings())
    logging.getLogger().handlers[0].setStream(log.open("a"))  # type: ignore[attr-defined]
    figures: dict[bool, list[float]] = {False: [], True: []}
    async with application.router.lifespan_context(application):
        for _ in range(rounds):
            for subscribe in (False, True):
                figures[subscribe].append(await post_items_cpu(application, subscribe, requests))
    none, one = (statistics.median(figures[subscribe]) for subscribe in (False, True))
    print(
        f"POST /items, CPU per request: no endpoint {none:.0f} µs, one subscribed {one:.0f} µs"
        f" ({(one / none - 1) * 100:+.1f} %)",
        flush=True,
    )


async def measure_jobs(
    database_url: str, processes: list[int], jobs: int, rounds: int, count: int, log: Path
) -> None:
    os.environ.update({**APP_ENVIRONMENT, "DATABASE_URL": database_url})
    settings = Settings()
    engine = create_engine(settings)
    try:
        for n in processes:
            with workers(n, database_url, log):
                rates = [await throughput(settings, engine, jobs, log) for _ in range(rounds)]
            print(
                f"{n} worker process{'es' if n > 1 else ''}: {statistics.median(rates):,.0f} "
                f"no-op jobs/s (rounds: {', '.join(f'{rate:,.0f}' for rate in rates)})",
                flush=True,
            )
        await clear(engine)
        with workers(1, database_url, log):
            await delays(settings, engine, 20)
            measured = await delays(settings, engine, count)
        print(
            f"commit to start, 1 idle worker: p50 {percentile(measured, 0.5):.1f} ms, "
            f"p99 {percentile(measured, 0.99):.1f} ms ({count} jobs)",
            flush=True,
        )
    finally:
        await engine.dispose()


def worker() -> None:
    """`app worker` with the no-op job type."""
    app.job_types.JOB_TYPES = (*app.job_types.JOB_TYPES, NOOP)
    cli(["worker"])


def main() -> None:
    if sys.argv[1:2] == ["worker"]:
        worker()
        return
    parser = argparse.ArgumentParser(prog="python -m bench.jobs")
    parser.add_argument("--jobs", type=int, default=20_000, help="no-op jobs per round")
    parser.add_argument("--processes", default="1,2,4", help="worker processes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delays", type=int, default=500, help="jobs timed one at a time")
    parser.add_argument("--requests", type=int, default=2000, help="POST /items per round")
    parser.add_argument("--server", default="postgresql://root@127.0.0.1:5432/test")
    args = parser.parse_args()
    database = f"bench_jobs_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(args.server, f'CREATE DATABASE "{database}"'))
    database_url = with_database(args.server, database, driver="+asyncpg")
    processes = [int(n) for n in args.processes.split(",")]
    try:
        asyncio.run(migrate(database_url))
        with tempfile.TemporaryDirectory(prefix="jobs-") as workdir:
            log = Path(workdir) / "app.log"
            uvloop.run(measure_post_items(database_url, args.requests, args.rounds, log))
            uvloop.run(
                measure_jobs(database_url, processes, args.jobs, args.rounds, args.delays, log)
            )
    finally:
        asyncio.run(admin(args.server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
