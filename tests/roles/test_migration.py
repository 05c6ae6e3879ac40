"""The migration that brings roles: superusers become admins and every user holds `user`, and
its downgrade brings the superuser flag back."""

import asyncio
from typing import Any

from sqlalchemy import text

from app.core.config import Settings
from app.core.db import create_engine
from tests.core.test_migrations import run_cli

BEFORE_ROLES = "f5d6cf1412eb"
INSERT_USER = (
    "INSERT INTO users (id, email, hashed_password, is_active, is_superuser, created_at, "
    "updated_at) VALUES (:id, :email, 'x', true, :superuser, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
INSERT_SESSION = (
    "INSERT INTO user_sessions (id, user_id, token_hash, created_at, last_used_at, expires_at) "
    "VALUES (:id, :user_id, :id_text, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
HELD = (
    "SELECT u.email, r.name FROM user_roles ur JOIN users u ON u.id = ur.user_id "
    "JOIN roles r ON r.id = ur.role_id"
)


def query(database_url: str, sql: str, **values: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        engine = create_engine(Settings(_env_file=None, database_url=database_url))
        async with engine.begin() as connection:
            result = await connection.execute(text(sql), values)
            rows = [tuple(row) for row in result] if result.returns_rows else []
        await engine.dispose()
        return rows

    return asyncio.run(run())


def test_superusers_become_admins_and_back_and_nothing_else_changes(
    fresh_database_url: str,
) -> None:
    assert run_cli(fresh_database_url, "db", "upgrade", BEFORE_ROLES)[0] == 0
    for number, superuser in enumerate((True, False)):
        query(
            fresh_database_url,
            INSERT_USER,
            id=f"{number:032x}",
            email=f"{number}@example.com",
            superuser=superuser,
        )
        session_id = f"{number + 8:032x}"
        query(
            fresh_database_url,
            INSERT_SESSION,
            id=session_id,
            id_text=session_id,
            user_id=f"{number:032x}",
        )

    assert run_cli(fresh_database_url, "db", "upgrade")[0] == 0

    assert sorted(query(fresh_database_url, HELD)) == [
        ("0@example.com", "admin"),
        ("0@example.com", "user"),
        ("1@example.com", "user"),
    ]
    # SQLite rebuilds `users` to drop the flag; the rows that reference it stay.
    assert query(fresh_database_url, "SELECT count(*) FROM user_sessions") == [(2,)]
    assert run_cli(fresh_database_url, "db", "downgrade", BEFORE_ROLES)[0] == 0
    flags = query(fresh_database_url, "SELECT email, is_superuser FROM users ORDER BY email")
    assert flags == [("0@example.com", True), ("1@example.com", False)]
    assert query(fresh_database_url, "SELECT count(*) FROM user_sessions") == [(2,)]
