"""Engine, session factory and the per-request unit of work."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

from app.core.config import Settings
from app.core.pool import FairAsyncQueuePool
from app.core.request import ClientInfo, Clock, client_info
from app.core.state import CoreState, core_state
from app.core.tenancy import names_tenant

SQLITE_BUSY_TIMEOUT_MS = 5000
SAFE_METHODS = frozenset({"GET", "HEAD"})
_EFFECTS = "app.after_commit"
CLIENT = "app.client"


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for `DATABASE_URL`; nothing connects until first use.

    In production, errors and echoed statements show `[SQL parameters hidden]` instead of the
    values: a failed statement's log line must not carry personal data or secrets.
    """
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url, settings)
    engine = create_async_engine(
        url,
        echo=settings.db_echo,
        hide_parameters=settings.is_production,
        # No pre-ping: it costs two round trips (BEGIN, ROLLBACK) per checkout. A connection
        # the server dropped fails its request with a 503 instead, and SQLAlchemy then
        # replaces every pooled connection older than the failure.
        poolclass=FairAsyncQueuePool,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        connect_args={
            "timeout": settings.db_connect_timeout,
            "command_timeout": settings.db_command_timeout,
            **(_TRANSACTION_POOLER if settings.db_pooler == "transaction" else {}),
        },
    )
    roll_back_on_return(engine)
    return engine


# Behind a transaction pooler one client connection's statements reach different server
# connections, so none may be prepared by name: a named statement is missing on the next server
# ("prepared statement … does not exist"), and its Close reaches another one, leaving it behind
# on the first for the server connection's life. SQLAlchemy's dialect prepares every statement;
# the empty name makes that asyncpg's anonymous statement, which with asyncpg's cache off is
# parsed again in the same message batch as its Bind and Execute, and replaced by the next.
_TRANSACTION_POOLER: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: "",
}


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession] | None:
    """Sessions for safe methods (GET, HEAD) on PostgreSQL: no BEGIN and COMMIT round trips.

    Under READ COMMITTED each statement sees its own snapshot anyway, so a transaction adds
    nothing to a read, and the one write a read may do (the throttled session touch) stands
    alone. SQLite keeps one transaction per request: its single connection serialises them.
    """
    if engine.dialect.name != "postgresql":
        return None
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


def _create_sqlite_engine(url: URL, settings: Settings) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        # The embedded default creates its data folder; a path that cannot be created fails on
        # first connect instead, like any unreachable database (503).
        with contextlib.suppress(OSError):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # One connection: SQLite has one writer at a time and every transaction here takes the write
    # lock (BEGIN IMMEDIATE), so more connections only wait in SQLite's busy handler, which
    # polls instead of queueing and can starve a waiter past its timeout. The pool queue is
    # first come, first served and bounded by DB_POOL_TIMEOUT.
    engine = create_async_engine(
        url,
        echo=settings.db_echo,
        hide_parameters=settings.is_production,
        poolclass=FairAsyncQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
    )
    configure_sqlite(engine)
    roll_back_on_return(engine)
    return engine


def configure_sqlite(engine: AsyncEngine) -> None:
    """Pragmas, and transactions that SQLAlchemy (not the sqlite3 module) controls.

    The driver's own BEGIN handling breaks SAVEPOINT and transactional DDL, so it is turned off
    and SQLAlchemy emits BEGIN itself, as in
    https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
    writes fails at once with SQLITE_BUSY when another writer committed in between, whereas an
    immediate one waits for the busy timeout and then sees fresh data.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def roll_back_on_return(engine: AsyncEngine) -> None:
    """Roll back whatever a returned connection still has open.

    When COMMIT raises without the database ending the transaction (SQLite's deferred foreign
    keys, a commit interrupted by cancellation or a failing hook), SQLAlchemy counts the
    transaction as ended and skips its own rollback; the next request on that connection would
    then commit the failed request's writes (found by tests/reliability/test_no_lost_writes.py).
    """

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        if state.asyncio_safe and _in_transaction(dbapi_connection.driver_connection):
            dbapi_connection.rollback()


def _in_transaction(driver_connection: Any) -> bool:
    is_in_transaction = getattr(driver_connection, "is_in_transaction", None)  # asyncpg
    if is_in_transaction is not None:
        return bool(is_in_transaction())
    return bool(driver_connection.in_transaction)  # sqlite3 (aiosqlite)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commit on success, roll back on any error.

    Registered with `scope="function"` so the commit runs before the response is sent and a
    failed commit reaches the client as an error, never as a 2xx.
    """
    state = core_state(request)
    sessionmaker = state.sessionmaker
    # Row-level security is armed per transaction: a read inside an organisation needs one.
    tenant_bound = state.row_security is not False and names_tenant(request)
    if request.method in SAFE_METHODS and state.read_sessionmaker is not None and not tenant_bound:
        sessionmaker = state.read_sessionmaker
    session = sessionmaker()
    bind_client(session, client_info(request))
    try:
        yield session
    except BaseException:
        await _end(session, commit=False)
        raise
    await _end(session, commit=True)
    await run_after_commit(state, session)


async def run_after_commit(state: CoreState, session: AsyncSession) -> None:
    """Run the hooks of what `session` noted (see `after_commit`), once it committed: for a
    unit of work that is not `get_session`'s (the admin console's)."""
    effects: dict[str, set[Any]] | None = session.info.pop(_EFFECTS, None)
    if effects:
        for effect, values in effects.items():
            hook = state.after_commit.get(effect)
            if hook is not None:
                await hook(values)


def bind_client(session: AsyncSession, client: ClientInfo) -> None:
    """Who the unit of work serves, for what it records of them (the audit log)."""
    session.info[CLIENT] = client


def client_of(session: AsyncSession) -> ClientInfo | None:
    """The client of the request this unit of work serves; None outside a request."""
    client: ClientInfo | None = session.info.get(CLIENT)
    return client


def after_commit(session: AsyncSession, effect: str, *values: Hashable) -> None:
    """Note that this unit of work has `effect` once it commits: the hook a feature registered
    under that name in `app.state.after_commit` then runs once, with every value noted for it.
    Nothing runs for a unit of work that rolls back."""
    session.info.setdefault(_EFFECTS, {}).setdefault(effect, set()).update(values)


def noted(session: AsyncSession, effect: str) -> set[Any]:
    """The values noted for `effect`, forgotten as they are handed out: for code outside a
    request, which runs the effect itself once its session committed."""
    values: set[Any] = session.info.get(_EFFECTS, {}).pop(effect, set())
    return values


async def _end(session: AsyncSession, *, commit: bool) -> None:
    """Commit or roll back, then close. A unit of work that never began a transaction (a
    request answered from caches) has nothing to end: it costs no call into SQLAlchemy's
    async machinery."""
    if not session.in_transaction():
        return
    try:
        await (session.commit() if commit else session.rollback())
    finally:
        await session.close()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

ServiceT = TypeVar("ServiceT")


def service_dependency(
    build: Callable[[AsyncSession, Settings, Clock], ServiceT],
) -> Callable[..., Awaitable[ServiceT]]:
    """The dependency giving a request the service `build` makes from its unit of work, the
    settings and the clock: the same `build` serves code outside a request (CLI, seeding)."""

    async def dependency(request: Request, session: SessionDep) -> ServiceT:
        state = core_state(request)
        return build(session, state.settings, state.clock)

    return dependency
