"""`app worker` processes (with the tests' job types) on one database: a worker killed with
SIGKILL mid-job loses it only until its lease runs out, two workers share 1,000 jobs running
each once, SIGTERM lets running jobs finish or releases them, and on PostgreSQL a commit wakes
a worker in another process at once."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import func, select

from app.core.config import Settings
from app.jobs.models import Job, JobState
from tests.conftest import REPO_ROOT, on_sqlite
from tests.jobs.conftest import Jobs
from tests.jobs.types import WORK, Work, lines
from tests.live import TEST_ENVIRONMENT

STARTUP_SECONDS = 30


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], log: Path):
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_started(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while '"event":"worker_started"' not in self.output():
            assert self.process.poll() is None, f"the worker exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"the worker did not start:\n{self.output()}"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class StartWorker(Protocol):
    def __call__(self, *args: str, **environment: str) -> WorkerProcess: ...


@pytest.fixture
def start_worker(job_settings: Settings, tmp_path: Path) -> Iterator[StartWorker]:
    started: list[WorkerProcess] = []

    def start(*args: str, **environment: str) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.worker_main", *args],
            env={
                **os.environ,
                **TEST_ENVIRONMENT,
                "DATABASE_URL": job_settings.database_url,
                "PYTHONPATH": str(REPO_ROOT),
                "JOBS_POLL_INTERVAL": "0.05",
                "JOBS_LEASE": "1.5",
                "SHUTDOWN_TIMEOUT": "2",
                **environment,
            },
            cwd=tmp_path,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = WorkerProcess(process, log)
        started.append(worker)
        worker.wait_until_started()
        return worker

    yield start
    for worker in started:
        worker.kill()


async def until(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_a_job_whose_worker_was_killed_runs_again_after_its_lease_and_completes_once(
    start_worker: StartWorker, jobs: Jobs, log: Path
) -> None:
    job_id = await jobs.enqueue(WORK, Work(log=str(log), tag="survivor", seconds=2))
    first = start_worker()
    await jobs.wait_for(job_id, JobState.RUNNING)
    await until(lambda: _started(log), 10, "the first worker did not start the job")
    first.kill()
    killed_at = time.monotonic()
    second = start_worker()
    job = await jobs.wait_for(job_id, JobState.DONE, within=20)
    recovered_in = time.monotonic() - killed_at

    starts, done = lines(log, "start"), lines(log, "done")
    assert [row[:2] for row in starts] == [["survivor", "1"], ["survivor", "2"]]
    assert [row[:2] for row in done] == [["survivor", "2"]]
    assert starts[0][2] == str(first.process.pid)
    assert done[0][2] == str(second.process.pid)
    assert (job.attempts, job.last_error) == (2, None)
    # The 1.5 s lease, then the 2 s try.
    assert recovered_in < 10


async def test_two_workers_run_each_of_1000_jobs_once(
    start_worker: StartWorker, jobs: Jobs, log: Path
) -> None:
    # Both wait before the commit, and each job takes a moment, so one fast worker cannot
    # drain the queue alone.
    workers = [start_worker("--concurrency", "20") for _ in range(2)]
    async with jobs.sessions.begin() as session:
        service = jobs.service(session)
        for number in range(1000):
            await service.enqueue(WORK, Work(log=str(log), tag=f"job-{number}", seconds=0.01))

    await until(lambda: _all_done(jobs, 1000), 90, "the workers did not finish the jobs")

    runs = Counter(row[0] for row in lines(log, "start"))
    assert len(runs) == 1000
    assert set(runs.values()) == {1}
    by_worker = Counter(row[2] for row in lines(log, "done"))
    assert set(by_worker) == {str(worker.process.pid) for worker in workers}


async def test_sigterm_lets_running_jobs_finish_and_releases_the_rest(
    start_worker: StartWorker, jobs: Jobs, log: Path
) -> None:
    quick = await jobs.enqueue(WORK, Work(log=str(log), tag="quick", seconds=1))
    long = await jobs.enqueue(WORK, Work(log=str(log), tag="long", seconds=60))
    worker = start_worker()
    await jobs.wait_for(long, JobState.RUNNING)
    await jobs.wait_for(quick, JobState.RUNNING)
    worker.process.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(worker.process.wait, 10)

    assert exit_code == 0, worker.output()
    assert (await jobs.get(quick)).state == JobState.DONE
    released = await jobs.get(long)
    assert (released.state, released.attempts, released.worker) == (JobState.READY, 0, None)
    assert '"event":"jobs_released"' in worker.output()


async def test_a_commit_wakes_a_worker_of_another_process_at_once(
    job_settings: Settings, start_worker: StartWorker, jobs: Jobs, log: Path
) -> None:
    if on_sqlite(job_settings):
        pytest.skip("SQLite has no notifications: its workers poll")
    if job_settings.db_pooler == "transaction":
        pytest.skip("behind a transaction pooler workers poll (LISTEN needs a session)")
    start_worker(JOBS_POLL_INTERVAL="30")
    await asyncio.sleep(1)  # past its first claim, listening
    delays = []
    for number in range(5):
        enqueued = time.monotonic()
        job_id = await jobs.enqueue(WORK, Work(log=str(log), tag=f"woken-{number}"))
        await jobs.wait_for(job_id, JobState.DONE)
        delays.append(time.monotonic() - enqueued)

    assert max(delays) < 2, delays  # not the 30 s poll


async def _started(log: Path) -> bool:
    return bool(lines(log, "start"))


async def _all_done(jobs: Jobs, count: int) -> bool:
    async with jobs.sessions() as session:
        statement = select(func.count()).select_from(Job).where(Job.state == JobState.DONE)
        return (await session.scalar(statement)) == count
