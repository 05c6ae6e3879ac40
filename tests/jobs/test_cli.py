"""`app jobs list|show|retry|cancel|purge` through the real CLI on a migrated database. Plain
functions: each command calls `asyncio.run` itself."""

import asyncio
import uuid
from datetime import timedelta

import orjson
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.models import utcnow
from app.jobs.models import Job, JobState

runner = CliRunner()


def store(database_url: str, *jobs: Job) -> None:
    async def write() -> None:
        engine = create_engine(Settings(_env_file=None, database_url=database_url))
        try:
            async with create_sessionmaker(engine).begin() as session:
                session.add_all(jobs)
        finally:
            await engine.dispose()

    asyncio.run(write())


def job(state: JobState, **fields: object) -> Job:
    made = Job(
        id=uuid.uuid4(),
        name="reports.build",
        queue="default",
        payload={"report": 7},
        state=state,
        max_attempts=3,
        attempts=3 if state == JobState.DEAD else 0,
        run_at=utcnow(),
        created_at=utcnow(),
    )
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def test_operators_list_show_retry_cancel_and_purge_jobs(migrated: str) -> None:
    env = {"DATABASE_URL": migrated}
    old = utcnow() - timedelta(days=40)
    dead = job(JobState.DEAD, last_error="OSError: disk full", finished_at=utcnow())
    ready = job(JobState.READY)
    ended = job(JobState.DONE, finished_at=old)
    store(migrated, dead, ready, ended)

    listed = runner.invoke(cli, ["jobs", "list", "--state", "dead"], env=env)
    shown = runner.invoke(cli, ["jobs", "show", str(dead.id)], env=env)
    retried = runner.invoke(cli, ["jobs", "retry", str(dead.id)], env=env)
    refused = runner.invoke(cli, ["jobs", "retry", str(dead.id)], env=env)
    cancelled = runner.invoke(cli, ["jobs", "cancel", str(ready.id)], env=env)
    purged = runner.invoke(cli, ["jobs", "purge", "--older-than", "30"], env=env)
    missing = runner.invoke(cli, ["jobs", "show", str(uuid.uuid4())], env=env)

    assert listed.exit_code == 0, listed.output
    assert listed.output.split()[:4] == [str(dead.id), "dead", "reports.build", "3/3"]
    assert "OSError: disk full" in listed.output
    assert orjson.loads(shown.output)["payload"] == {"report": 7}
    assert orjson.loads(retried.output)["state"] == "ready"
    assert refused.exit_code == 1
    assert "Only a dead or cancelled job can be retried; this one is ready" in refused.output
    assert orjson.loads(cancelled.output)["state"] == "cancelled"
    # The job cancelled just now is younger than 30 days: only the old one goes.
    assert purged.output.strip() == "1 purged"
    assert (missing.exit_code, missing.output.strip()) == (1, "Error: Job not found")


def test_a_worker_refuses_a_queue_no_job_uses(migrated: str) -> None:
    result = runner.invoke(cli, ["worker", "--queues", "nope"], env={"DATABASE_URL": migrated})

    assert result.exit_code == 2
    assert "no job uses queue nope" in result.output
