"""Alembic environment: async engine, every feature's models, batch mode on SQLite."""

import asyncio
import importlib
import importlib.util
import pkgutil
from typing import Literal

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

import app
from app.core.config import Settings
from app.core.db import create_engine
from app.core.models import Base

# Advisory lock id that serialises `upgrade` across instances starting at once on PostgreSQL.
MIGRATION_LOCK_ID = 7_212_023_061


def import_feature_models() -> None:
    """Import `app.<feature>.models` for every feature, so no list of models is kept by hand."""
    for module in pkgutil.iter_modules(app.__path__):
        if module.ispkg and importlib.util.find_spec(f"app.{module.name}.models") is not None:
            importlib.import_module(f"app.{module.name}.models")


def render_item(kind: str, obj: object, _context: object) -> str | Literal[False]:
    # Migrations name the database type (`sa.DateTime(timezone=True)`), not the app's
    # Python-side decorator, so they never import application code.
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        render_item=render_item,
        process_revision_directives=context.config.attributes.get("process_revision_directives"),
    )
    sqlite = connection.dialect.name == "sqlite" and not connection.in_transaction()
    if sqlite:
        # Batch mode rebuilds a table to alter it, and dropping the old copy would cascade to
        # every row that references it (a user's sessions and items). The pragma only takes
        # effect outside a transaction.
        _pragma(connection, "foreign_keys=OFF")
    try:
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"))
            context.run_migrations()
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise RuntimeError("the migration left rows whose references are broken")
    finally:
        if sqlite:
            _pragma(connection, "foreign_keys=ON")


def _pragma(connection: Connection, pragma: str) -> None:
    cursor = connection.connection.cursor()
    cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


async def run_async_migrations(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def main() -> None:
    import_feature_models()
    connection = context.config.attributes.get("connection")
    if connection is not None:
        # Called from code that already holds a connection (tests, `connection.run_sync`).
        run_migrations(connection)
        return
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported")
    asyncio.run(run_async_migrations(context.config.attributes["settings"]))


main()
