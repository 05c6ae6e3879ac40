"""The pieces of the topology the tests share, started once per session and stopped at the end.

Every test here needs PostgreSQL (`TEST_DATABASE_URL`); a piece that cannot run on this machine
skips its tests with the reason.
"""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import throwaway_database
from tests.live import free_port
from topology import pgbouncer, postgres
from topology.deployment import migrate
from topology.pgbouncer import PgBouncer, running_pgbouncer
from topology.postgres import Cluster, running_primary

# Fewer server connections than the app has clients: consecutive transactions of one client
# connection land on different server connections, as they do in production.
POOLER_SERVER_CONNECTIONS = 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="the topology needs PostgreSQL (TEST_DATABASE_URL)")
    for item in items:
        if Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pooler() -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the suite's PostgreSQL server."""
    reason = pgbouncer.available()
    if reason is not None:
        pytest.skip(reason)
    server = make_url(os.environ["TEST_DATABASE_URL"])
    with running_pgbouncer(
        server_host=server.host or "127.0.0.1",
        server_port=server.port or 5432,
        port=free_port(),
        pool_size=POOLER_SERVER_CONNECTIONS,
        users=(server.username or "root",),
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A database of its own, migrated over a direct connection (migrations never go through
    the pooler); its URL on the server."""
    async with throwaway_database(tmp_path_factory.mktemp("database")) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
def primary() -> Iterator[Cluster]:
    """A PostgreSQL primary of the topology's own (not the suite's server): standbys are made
    from it, and drills stop it."""
    reason = postgres.available()
    if reason is not None:
        pytest.skip(reason)
    with running_primary(port=free_port()) as cluster:
        yield cluster
