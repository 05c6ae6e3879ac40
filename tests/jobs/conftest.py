"""Fixtures of the job tests: a migrated database of their own (workers commit), quick
settings, and helpers that enqueue and wait."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.metrics import Metrics
from app.jobs.definitions import JobRegistry, JobType, PayloadT
from app.jobs.dependencies import build_job_service
from app.jobs.metrics import JobMetrics
from app.jobs.models import Job, JobState
from app.jobs.service import JobService
from tests.jobs.types import registry_of


@pytest.fixture
def job_settings(settings: Settings, migrated: str) -> Settings:
    return settings.model_copy(
        update={
            "database_url": migrated,
            "jobs_poll_interval": 0.05,
            "jobs_lease": 1.5,
            "shutdown_timeout": 2,
        }
    )


@pytest.fixture
async def job_engine(job_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(job_settings)
    yield engine
    await engine.dispose()


@pytest.fixture
def job_sessions(job_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(job_engine)


@pytest.fixture
def registry() -> JobRegistry:
    return registry_of()


@pytest.fixture
def job_metrics() -> JobMetrics:
    return JobMetrics(Metrics(lambda: None))


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "jobs.log"


class Jobs:
    """The queue as the tests drive it: each call is one committed unit of work."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, registry: JobRegistry
    ):
        self.sessions = sessions
        self.settings = settings
        self.registry = registry

    def service(self, session: AsyncSession) -> JobService:
        return build_job_service(session, self.settings, self.registry)

    async def enqueue(
        self,
        job_type: JobType[PayloadT],
        payload: PayloadT,
        *,
        delay: timedelta | None = None,
        priority: int | None = None,
        key: str | None = None,
    ) -> uuid.UUID:
        async with self.sessions.begin() as session:
            service = self.service(session)
            job_id = await service.enqueue(
                job_type, payload, delay=delay, priority=priority, key=key
            )
        assert job_id is not None
        return job_id

    async def get(self, job_id: uuid.UUID) -> Job:
        async with self.sessions.begin() as session:
            return await self.service(session).get(job_id)

    async def wait_for(self, job_id: uuid.UUID, *states: JobState, within: float = 15) -> Job:
        deadline = time.monotonic() + within
        while True:
            job = await self.get(job_id)
            if job.state in states:
                return job
            assert time.monotonic() < deadline, f"job still {job.state}: {job.last_error}"
            await asyncio.sleep(0.05)


@pytest.fixture
def jobs(
    job_sessions: async_sessionmaker[AsyncSession], job_settings: Settings, registry: JobRegistry
) -> Jobs:
    return Jobs(job_sessions, job_settings, registry)
