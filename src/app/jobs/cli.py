"""`app jobs …`: background jobs from the command line, and `app worker`, a process that runs
them."""

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

import orjson
import structlog
import typer
from prometheus_client import start_http_server
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import AlreadyExistsError, AppError
from app.core.logging import configure_logging
from app.core.metrics import Metrics
from app.core.pagination import PageRequest, SortKey
from app.core.ratelimit import create_rate_limiter
from app.core.redis import create_redis
from app.core.security import PasswordHasher
from app.job_types import job_registry, job_resources
from app.jobs.dependencies import build_job_service
from app.jobs.filters import JobFilter
from app.jobs.metrics import JobMetrics
from app.jobs.models import ENDED, Job, JobState
from app.jobs.schemas import JobRead
from app.jobs.service import JobService
from app.jobs.worker import running_worker

logger = structlog.get_logger(__name__)
jobs_cli = typer.Typer(help="Background jobs.", no_args_is_help=True)
JobId = Annotated[uuid.UUID, typer.Argument(help="The job's id.")]


@jobs_cli.command("list")
def list_jobs(
    state: Annotated[JobState | None, typer.Option(help="Only jobs in this state.")] = None,
    name: Annotated[str | None, typer.Option(help="Only jobs of this type.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
) -> None:
    """One line per job: id, state, name, attempts, when due, last error."""

    async def work(jobs: JobService) -> None:
        filters = JobFilter(state=state, name=name)
        page = PageRequest(sort=(SortKey("created_at", descending=True),), limit=limit)
        for job in (await jobs.list_page(filters, page)).items:
            error = f" {job.last_error}" if job.last_error else ""
            attempts = f"{job.attempts}/{job.max_attempts}"
            line = f"{job.id} {job.state} {job.name} {attempts} {job.run_at:%Y-%m-%dT%H:%M:%SZ}"
            typer.echo(line + error)

    _run(work)


@jobs_cli.command()
def enqueue(
    name: Annotated[str, typer.Argument(help="A registered job type.")],
    payload: Annotated[str, typer.Option(help="Its payload, as JSON.")] = "{}",
    delay: Annotated[float, typer.Option(min=0, help="Seconds before it is due.")] = 0,
    key: Annotated[str | None, typer.Option(help="At most one ready job holds a key.")] = None,
) -> None:
    """Enqueue a job now (a purge, a report) and print its id."""
    job_type = job_registry(Settings()).get(name)
    if job_type is None:
        typer.echo(f"Error: no job type {name}", err=True)
        raise typer.Exit(code=2)
    try:
        data = job_type.payload.model_validate_json(payload)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "payload"
            typer.echo(f"{where}: {error['msg']}", err=True)
        raise typer.Exit(code=2) from exc

    async def work(jobs: JobService) -> None:
        job_id = await jobs.enqueue(job_type, data, delay=timedelta(seconds=delay), key=key)
        if job_id is None:
            raise AlreadyExistsError(f"A ready job already holds the key {key}")
        typer.echo(job_id)

    _run(work)


@jobs_cli.command()
def show(job_id: JobId) -> None:
    """One job as JSON, with its payload."""

    async def work(jobs: JobService) -> None:
        _echo(await jobs.get(job_id), payload=True)

    _run(work)


@jobs_cli.command()
def retry(job_id: JobId) -> None:
    """A dead or cancelled job, ready again now with all its attempts."""

    async def work(jobs: JobService) -> None:
        _echo(await jobs.retry(job_id))

    _run(work)


@jobs_cli.command()
def cancel(job_id: JobId) -> None:
    """A ready job, or a running one (its worker stops it)."""

    async def work(jobs: JobService) -> None:
        _echo(await jobs.cancel(job_id))

    _run(work)


@jobs_cli.command()
def purge(
    state: Annotated[
        list[JobState] | None, typer.Option(help="Ended state to purge (repeat); all by default.")
    ] = None,
    older_than: Annotated[
        float, typer.Option(min=0, help="Days since they ended (0: every one).")
    ] = 0,
) -> None:
    """Remove ended jobs (done, dead, cancelled); the scheduled purge keeps JOBS_KEEP_DONE and
    JOBS_KEEP_DEAD."""

    async def work(jobs: JobService) -> None:
        removed = await jobs.purge(tuple(state or ENDED), timedelta(days=older_than))
        typer.echo(f"{removed} purged")

    _run(work)


def worker(
    queues: Annotated[
        str | None, typer.Option(help="Comma-separated queues to run; all by default.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=1000, help="Jobs at once; JOBS_CONCURRENCY.")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port (127.0.0.1).")
    ] = None,
) -> None:
    """Run background jobs until SIGTERM or Ctrl-C: then stop claiming, let running jobs finish
    within SHUTDOWN_TIMEOUT, and release the rest to other workers."""
    chosen = [queue.strip() for queue in queues.split(",")] if queues else None
    asyncio.run(_work(Settings(), chosen, concurrency, metrics_port))


async def _work(
    settings: Settings, queues: list[str] | None, concurrency: int | None, port: int | None
) -> None:
    configure_logging(settings)
    registry = job_registry(settings)
    unknown = set(queues or ()) - registry.queues()
    if unknown:
        typer.echo(f"Error: no job uses queue {', '.join(sorted(unknown))}", err=True)
        raise typer.Exit(code=2)
    engine = create_engine(settings)
    metrics = Metrics(lambda: engine.pool)
    job_metrics = JobMetrics(metrics)
    if port is not None:
        start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sessionmaker = create_sessionmaker(engine)
    redis = create_redis(settings)
    resources = job_resources(
        settings,
        registry,
        metrics=metrics,
        hasher=PasswordHasher.from_settings(settings),
        limiter=create_rate_limiter(settings, redis),
    )
    options = {"queues": queues, "concurrency": concurrency, "resources": resources}
    try:
        async with running_worker(
            engine, sessionmaker, registry, settings, job_metrics, **options
        ) as running:
            logger.info("worker_started", worker=running.id, queues=sorted(running.queues))
            await stop.wait()
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()


def _echo(job: Job, *, payload: bool = False) -> None:
    shown = JobRead.model_validate(job).model_dump(mode="json")
    if payload:
        shown["payload"] = job.payload
    typer.echo(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())


def _run(work: Callable[[JobService], Awaitable[None]]) -> None:
    """`work` in one transaction."""

    async def main(settings: Settings) -> None:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine).begin() as session:
                await work(_service(session, settings))
        finally:
            await engine.dispose()

    try:
        asyncio.run(main(Settings()))
    except AppError as exc:
        typer.echo(f"Error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc


def _service(session: AsyncSession, settings: Settings) -> JobService:
    return build_job_service(session, settings, job_registry(settings))
