"""Job types of the tests: each try leaves lines in a log file, so that processes other than
the test's can be checked for what they ran, and how often."""

import asyncio
import os
from pathlib import Path

from pydantic import BaseModel

from app.jobs.definitions import JobContext, JobRegistry, JobType, Retry, Schedule


class Work(BaseModel):
    log: str
    tag: str
    # How long a try takes, and how many first tries fail.
    seconds: float = 0
    fail: int = 0


async def work(payload: Work, context: JobContext) -> None:
    await note(payload.log, f"start {payload.tag} {context.attempt} {os.getpid()}")
    if payload.seconds:
        await asyncio.sleep(payload.seconds)
    if context.attempt <= payload.fail:
        raise RuntimeError(f"try {context.attempt} of {payload.tag} failed")
    await note(payload.log, f"done {payload.tag} {context.attempt} {os.getpid()}")


async def note(path: str, line: str) -> None:
    await asyncio.to_thread(_append, Path(path), line + "\n")


def _append(path: Path, text: str) -> None:
    # One write per line in append mode: lines of several processes never interleave.
    with path.open("a") as file:
        file.write(text)


def lines(path: Path, kind: str) -> list[list[str]]:
    """The `kind` lines (`start`, `done`) as fields: tag, attempt, pid."""
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines()]
    return [row[1:] for row in rows if row and row[0] == kind]


FAST = Retry(base=0.05, jitter=False)
WORK = JobType(name="tests.work", payload=Work, run=work, max_attempts=3, retry=FAST)
SLOW = JobType(name="tests.slow", payload=Work, run=work, max_attempts=1, timeout=0.3)
OTHER = JobType(name="tests.other", payload=Work, run=work, queue="other", retry=FAST)
TEST_TYPES = (WORK, SLOW, OTHER)


def registry_of(*, schedules: tuple[Schedule, ...] = ()) -> JobRegistry:
    return JobRegistry(TEST_TYPES, schedules)
