"""Shared fixtures: one migrated database per run, one rolled-back transaction per test.

The suite runs on SQLite by default and on PostgreSQL when `TEST_DATABASE_URL` names a server
(`postgresql+asyncpg://root@127.0.0.1:5432/test`); a fresh database is created there and dropped
at the end.
"""

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pytest
from alembic import command
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine
from app.core.migrations import alembic_config
from app.main import create_app
from tests.live import LiveServer, LiveServerFactory, free_port, start_server
from tests.mail import Mailbox, SmtpServer
from tests.oauth.provider import CALLBACK, CALLBACK_PATH, OpenIDProvider, running_provider
from tests.secrets_scan import find_secrets

REPO_ROOT = Path(__file__).resolve().parent.parent
# The test client's own request lines: tests put tokens into URLs on purpose (to prove the app
# ignores them there), and the app's access log records paths without query strings.
logging.getLogger("httpx").setLevel(logging.WARNING)


async def _create_postgres_database(server_url: str) -> str:
    """A throwaway database on the server named by `server_url`; returns its URL."""
    url = make_url(server_url)
    name = f"app_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    await admin.dispose()


@asynccontextmanager
async def throwaway_database(folder: Path) -> AsyncIterator[str]:
    """A new empty database of the suite's kind: a SQLite file in `folder`, or a PostgreSQL
    database on the `TEST_DATABASE_URL` server, dropped afterwards."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite+aiosqlite:///{folder}/app.db"
        return
    database_url = await _create_postgres_database(server_url)
    try:
        yield database_url
    finally:
        await _drop_postgres_database(database_url)


def on_sqlite(settings: Settings) -> bool:
    return settings.database_url.startswith("sqlite")


@asynccontextmanager
async def running_app(
    settings: Settings, *, sessionmaker: async_sessionmaker[AsyncSession] | None = None
) -> AsyncIterator[FastAPI]:
    """`create_app(settings)` inside its lifespan; optionally bound to a test's transaction."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        if sessionmaker is not None:
            application.state.sessionmaker = sessionmaker
            application.state.read_sessionmaker = sessionmaker
        yield application


@asynccontextmanager
async def http_client(application: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=application)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with throwaway_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """One SMTP server for the session; tests find their mail by recipient."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_port() -> int:
    """The port of the browser test's server, known to the provider from its start."""
    return free_port()


@pytest.fixture(scope="session")
def openid_provider(
    tmp_path_factory: pytest.TempPathFactory, browser_port: int
) -> Iterator[OpenIDProvider]:
    """A real OpenID provider on loopback (node-oidc-provider), for the sign-in tests."""
    browser_callback = f"http://127.0.0.1:{browser_port}{CALLBACK_PATH}"
    log = tmp_path_factory.mktemp("openid-provider") / "provider.log"
    with running_provider([CALLBACK, browser_callback], log) as provider:
        yield provider


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> Mailbox:
    return smtp_server.mailbox


@pytest.fixture(scope="session")
def settings(database_url: str, smtp_server: SmtpServer) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_starttls=False,
        # Apps bound to a test's transaction never see its jobs (it is rolled back), and on
        # SQLite a worker would wait on its lock: the tests that read mail turn it on, the tests
        # of jobs run workers of their own.
        jobs_worker=False,
        log_format="json",
        log_level="INFO",
        redis_url=None,
        db_pool_size=5,
        # Cheap Argon2 keeps the suite fast; production parameters are tested where it matters.
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    async with engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.upgrade(alembic_config(settings, connection=sync), "head")
        )
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # The app's commit only releases a SAVEPOINT; the outer transaction is rolled back.
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    """The real app and lifespan, with its sessions bound to the test's transaction."""
    async with running_app(settings, sessionmaker=sessionmaker) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with http_client(app) as client:
        yield client


@pytest.fixture
async def committing_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app on its own engine: real commits, for races and commit failures.

    Tests using it clean up the rows they write.
    """
    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def committing_client(committing_app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with http_client(committing_app) as client:
        yield client


class LogCapture(logging.Handler):
    """Collects log lines rendered exactly as production renders them (JSON here)."""

    def __init__(self, formatter: logging.Formatter | None):
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def records(self) -> list[dict[str, object]]:
        return [orjson.loads(line) for line in self.lines]


@pytest.fixture
def logs(app: FastAPI) -> Iterator[LogCapture]:
    root = logging.getLogger()
    capture = LogCapture(root.handlers[0].formatter)
    root.addHandler(capture)
    yield capture
    root.removeHandler(capture)


@pytest.fixture
async def fresh_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the suite's kind, for migration and process tests."""
    async with throwaway_database(tmp_path / "fresh") as url:
        yield url


@pytest.fixture
def migrated(fresh_database_url: str) -> str:
    """`fresh_database_url` upgraded to head through the CLI."""
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": fresh_database_url})
    assert result.exit_code == 0, result.output
    return fresh_database_url


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServerFactory]:
    """Starts real `app serve` processes (see `tests.live.start_server`); all killed afterwards."""
    servers: list[LiveServer] = []

    def start(database_url: str, *args: str, ready: bool = True, **environment: str) -> LiveServer:
        server = start_server(database_url, tmp_path, *args, ready=ready, **environment)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()
    leaks = [leak for server in servers for leak in find_secrets(server.log())]
    assert not leaks, "Secrets in a server log:\n" + "\n".join(leaks)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Fails any test whose captured output (logs, stdout, stderr) leaks a secret; checked at
    teardown, whose report holds the output of every phase."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "teardown" or report.failed:
        return
    leaks = find_secrets("\n".join(content for _name, content in report.sections))
    if leaks:
        report.outcome = "failed"
        report.longrepr = "Secrets in the captured output:\n" + "\n".join(leaks)
