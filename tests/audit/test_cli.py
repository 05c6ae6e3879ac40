"""`app audit tail|export` through the real CLI on a migrated database, as JSON lines. Plain
functions: each command calls `asyncio.run` itself."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import orjson
import pytest
from typer.testing import CliRunner

import app.audit.cli
from app.auth.audit import LOGIN, LOGIN_FAILED
from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.identity.dependencies import build_audit_log

runner = CliRunner()
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def record(database_url: str, *actions: str) -> None:
    """One event a minute from START, in this order."""

    async def write() -> None:
        engine = create_engine(Settings(_env_file=None, database_url=database_url))
        try:
            async with create_sessionmaker(engine).begin() as session:
                for minute, action in enumerate(actions):
                    log = build_audit_log(session, clock=partial(at, minute))
                    await log.record(action, details={"n": minute})
        finally:
            await engine.dispose()

    asyncio.run(write())


def at(minute: int) -> datetime:
    return START + timedelta(minutes=minute)


def lines_of(output: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines()]


def test_tail_prints_the_latest_events_oldest_first(migrated: str) -> None:
    record(migrated, LOGIN, LOGIN_FAILED, LOGIN, LOGIN)

    latest = runner.invoke(cli, ["audit", "tail", "-n", "2"], env={"DATABASE_URL": migrated})
    refused = runner.invoke(
        cli, ["audit", "tail", "--action", LOGIN_FAILED], env={"DATABASE_URL": migrated}
    )

    assert latest.exit_code == 0, latest.output
    assert [event["details"] for event in lines_of(latest.output)] == [{"n": 2}, {"n": 3}]
    assert [event["details"] for event in lines_of(refused.output)] == [{"n": 1}]


@pytest.mark.parametrize(
    "written",
    [datetime.isoformat, lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S")],
    ids=["with offset", "without: UTC"],
)
def test_export_pages_through_a_time_range(
    migrated: str, monkeypatch: pytest.MonkeyPatch, written: Callable[[datetime], str]
) -> None:
    record(migrated, *[LOGIN] * 6)
    monkeypatch.setattr(app.audit.cli, "BATCH", 2)
    since, until = START + timedelta(minutes=1), START + timedelta(minutes=5)

    exported = runner.invoke(
        cli,
        ["audit", "export", "--since", written(since), "--until", written(until)],
        env={"DATABASE_URL": migrated},
    )

    assert exported.exit_code == 0, exported.output
    events = lines_of(exported.output)
    assert [event["details"] for event in events] == [{"n": n} for n in (1, 2, 3, 4)]
    assert events[0]["at"] == "2026-12-01T09:01:00Z"
