"""`app users create-superuser`, run through the real CLI against a freshly migrated database.

These tests are plain functions: the command calls `asyncio.run` itself.
"""

import asyncio
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine
from app.core.security import PasswordHasher
from app.identity.models import User
from tests.conftest import http_client, running_app

runner = CliRunner()
PASSWORD = "correct horse battery"
# Production Argon2 parameters would make every run slow; the rows are verified with these.
CHEAP_HASHES = {
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
}


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    output: str


@dataclass(frozen=True)
class StoredUser:
    email: str
    full_name: str | None
    hashed_password: str | None
    is_active: bool
    is_superuser: bool
    is_deleted: bool


def run_cli(database_url: str, *arguments: str, stdin: str | None = None) -> Outcome:
    env = {"DATABASE_URL": database_url, **CHEAP_HASHES}
    result = runner.invoke(cli, list(arguments), env=env, input=stdin)
    return Outcome(result.exit_code, result.output)


def create_superuser(database_url: str, *arguments: str, stdin: str | None = None) -> Outcome:
    return run_cli(database_url, "users", "create-superuser", *arguments, stdin=stdin)


def stored_users(database_url: str) -> list[StoredUser]:
    async def read() -> list[StoredUser]:
        engine = create_engine(Settings(_env_file=None, database_url=database_url))
        async with AsyncSession(engine) as session:
            users = (await session.scalars(select(User))).all()
        await engine.dispose()
        return [
            StoredUser(
                email=user.email,
                full_name=user.full_name,
                hashed_password=user.hashed_password,
                is_active=user.is_active,
                is_superuser=user.is_superuser,
                is_deleted=user.deleted_at is not None,
            )
            for user in users
        ]

    return asyncio.run(read())


def password_matches(password: str, hashed_password: str | None) -> bool:
    hasher = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1, concurrency=1)
    valid, _new_hash = asyncio.run(hasher.verify(password, hashed_password))
    return valid


def log_in_and_list_users(database_url: str, email: str, password: str) -> tuple[int, int]:
    """Status codes of a login and of the superuser-only user list, through the real app."""

    async def run() -> tuple[int, int]:
        settings = Settings(
            _env_file=None, environment="test", database_url=database_url, redis_url=None
        )
        async with running_app(settings) as application, http_client(application) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": password}
            )
            token = login.json().get("access_token", "")
            listed = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
            return login.status_code, listed.status_code

    return asyncio.run(run())


class TestCreateSuperuser:
    def test_creates_an_active_superuser(self, migrated: str) -> None:
        outcome = create_superuser(
            migrated,
            "--email",
            "root@example.com",
            "--password",
            PASSWORD,
            "--full-name",
            "Root",
        )

        assert outcome.exit_code == 0, outcome.output
        [user] = stored_users(migrated)
        assert (user.email, user.full_name) == ("root@example.com", "Root")
        assert (user.is_superuser, user.is_active, user.is_deleted) == (True, True, False)

    def test_stores_only_an_argon2_hash_of_the_password(self, migrated: str) -> None:
        create_superuser(migrated, "--email", "root@example.com", "--password", PASSWORD)

        [user] = stored_users(migrated)

        assert user.hashed_password is not None
        assert user.hashed_password.startswith("$argon2id$")
        assert PASSWORD not in user.hashed_password
        assert password_matches(PASSWORD, user.hashed_password)

    def test_the_new_superuser_can_log_in_and_administer(self, migrated: str) -> None:
        create_superuser(migrated, "--email", "root@example.com", "--password", PASSWORD)

        login_status, list_status = log_in_and_list_users(migrated, "root@example.com", PASSWORD)

        assert (login_status, list_status) == (200, 200)

    def test_the_email_is_normalised(self, migrated: str) -> None:
        outcome = create_superuser(
            migrated, "--email", "  Root@Example.COM ", "--password", PASSWORD
        )

        assert outcome.exit_code == 0, outcome.output
        assert [user.email for user in stored_users(migrated)] == ["root@example.com"]
        assert "root@example.com" in outcome.output

    def test_the_password_is_not_printed(self, migrated: str) -> None:
        outcome = create_superuser(migrated, "--email", "root@example.com", "--password", PASSWORD)

        assert outcome.exit_code == 0, outcome.output
        assert PASSWORD not in outcome.output

    def test_an_existing_email_exits_1_with_a_clear_message(self, migrated: str) -> None:
        create_superuser(migrated, "--email", "root@example.com", "--password", PASSWORD)

        outcome = create_superuser(
            migrated, "--email", "ROOT@example.com", "--password", "another password"
        )

        assert outcome.exit_code == 1
        assert "already exists" in outcome.output
        assert "root@example.com" in outcome.output
        assert "Traceback" not in outcome.output

    def test_an_existing_email_writes_nothing(self, migrated: str) -> None:
        create_superuser(migrated, "--email", "root@example.com", "--password", PASSWORD)

        create_superuser(migrated, "--email", "root@example.com", "--password", "another password")

        [user] = stored_users(migrated)
        assert password_matches(PASSWORD, user.hashed_password)

    def test_an_unmigrated_database_is_a_clear_error_without_the_hash(
        self, fresh_database_url: str
    ) -> None:
        outcome = create_superuser(
            fresh_database_url, "--email", "root@example.com", "--password", PASSWORD
        )

        assert outcome.exit_code == 1
        assert "app db upgrade" in outcome.output
        assert "$argon2" not in outcome.output
        assert "INSERT" not in outcome.output

    @pytest.mark.parametrize(
        ("arguments", "field"),
        [
            (("--email", "not-an-email", "--password", PASSWORD), "email"),
            (("--email", "root@example.com", "--password", "short"), "password"),
            (("--email", "root@example.com", "--password", "x" * 129), "password"),
        ],
    )
    def test_invalid_input_exits_2_and_writes_nothing(
        self, migrated: str, arguments: tuple[str, ...], field: str
    ) -> None:
        outcome = create_superuser(migrated, *arguments)

        assert outcome.exit_code == 2
        assert field in outcome.output
        assert stored_users(migrated) == []

    def test_prompts_for_the_password_when_omitted(self, migrated: str) -> None:
        outcome = create_superuser(
            migrated, "--email", "root@example.com", stdin=f"{PASSWORD}\n{PASSWORD}\n"
        )

        assert outcome.exit_code == 0, outcome.output
        assert PASSWORD not in outcome.output
        [user] = stored_users(migrated)
        assert user.is_superuser
        assert password_matches(PASSWORD, user.hashed_password)

    def test_a_mismatched_confirmation_writes_nothing(self, migrated: str) -> None:
        outcome = create_superuser(
            migrated, "--email", "root@example.com", stdin=f"{PASSWORD}\nsomething else\n"
        )

        assert outcome.exit_code != 0
        assert "do not match" in outcome.output
        assert stored_users(migrated) == []

    def test_prompts_for_the_email_when_omitted(self, migrated: str) -> None:
        outcome = create_superuser(migrated, stdin=f"root@example.com\n{PASSWORD}\n{PASSWORD}\n")

        assert outcome.exit_code == 0, outcome.output
        assert [user.email for user in stored_users(migrated)] == ["root@example.com"]
