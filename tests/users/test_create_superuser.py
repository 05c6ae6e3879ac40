"""`app users create-superuser`."""

import asyncio

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine
from app.users.models import User

runner = CliRunner()
CHEAP_HASHES = {"PASSWORD_HASH_MEMORY_KIB": "1024", "PASSWORD_HASH_TIME_COST": "1"}


def users(database_url: str) -> list[tuple[str, bool]]:
    async def read() -> list[tuple[str, bool]]:
        engine = create_engine(Settings(_env_file=None, database_url=database_url))
        async with engine.connect() as connection:
            rows = (await connection.execute(select(User.email, User.is_superuser))).all()
        await engine.dispose()
        return [(email, flag) for email, flag in rows]

    return asyncio.run(read())


def invoke(database_url: str, *arguments: str, stdin: str | None = None) -> tuple[int, str]:
    env = {"DATABASE_URL": database_url, **CHEAP_HASHES}
    result = runner.invoke(cli, list(arguments), env=env, input=stdin)
    return result.exit_code, result.output


@pytest.fixture
def migrated(fresh_database_url: str) -> str:
    code, output = invoke(fresh_database_url, "db", "upgrade")
    assert code == 0, output
    return fresh_database_url


class TestCreateSuperuser:
    def test_creates_a_superuser_with_a_normalised_email(self, migrated: str) -> None:
        code, output = invoke(
            migrated,
            "users",
            "create-superuser",
            "--email",
            " Root@Example.COM ",
            "--password",
            "correct horse",
        )

        assert code == 0, output
        assert users(migrated) == [("root@example.com", True)]

    def test_prompts_for_the_password(self, migrated: str) -> None:
        code, output = invoke(
            migrated,
            "users",
            "create-superuser",
            "--email",
            "p@example.com",
            stdin="long enough\nlong enough\n",
        )

        assert code == 0, output
        assert "long enough" not in output
        assert users(migrated) == [("p@example.com", True)]

    def test_existing_email_is_a_clear_error(self, migrated: str) -> None:
        arguments = ("users", "create-superuser", "--email", "a@example.com", "--password", "x" * 8)
        invoke(migrated, *arguments)

        code, output = invoke(migrated, *arguments)

        assert code == 1
        assert "already exists" in output
        assert len(users(migrated)) == 1

    def test_invalid_input_writes_nothing(self, migrated: str) -> None:
        code, output = invoke(
            migrated,
            "users",
            "create-superuser",
            "--email",
            "nope",
            "--password",
            "short",
        )

        assert code == 2
        assert "email" in output
        assert "password" in output
        assert users(migrated) == []
