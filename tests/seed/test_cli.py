"""`app seed`: demo data through the services, the same rows again for the same seed."""

import asyncio

from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine
from app.identity.models import User
from app.items.models import Item

runner = CliRunner()


def counts(database_url: str) -> tuple[int, int, int]:
    """Demo users, items, and owners that have items."""

    async def read() -> tuple[int, int, int]:
        engine = create_engine(Settings(_env_file=None, database_url=database_url))
        async with engine.connect() as connection:
            users = await connection.scalar(
                select(func.count()).select_from(User).where(User.email.like("demo%"))
            )
            items = await connection.scalar(select(func.count()).select_from(Item))
            owners = await connection.scalar(select(func.count(func.distinct(Item.owner_id))))
        await engine.dispose()
        return int(users or 0), int(items or 0), int(owners or 0)

    return asyncio.run(read())


def seed(database_url: str, *arguments: str) -> str:
    result = runner.invoke(
        cli,
        ["seed", *arguments],
        env={"DATABASE_URL": database_url, "PASSWORD_HASH_MEMORY_KIB": "1024"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


class TestSeed:
    def test_fills_the_database_in_batches(self, fresh_database_url: str) -> None:
        output = seed(fresh_database_url, "--users", "3", "--items", "25", "--batch", "10")

        assert "Seeded 3 users and 25 items (25 created, 0 updated)" in output
        assert "rows/s" in output
        assert counts(fresh_database_url) == (3, 25, 3)

    def test_same_seed_updates_instead_of_adding(self, fresh_database_url: str) -> None:
        seed(fresh_database_url, "--users", "2", "--items", "12", "--batch", "5")

        output = seed(fresh_database_url, "--users", "2", "--items", "12", "--batch", "5")

        assert "(0 created, 12 updated)" in output
        assert counts(fresh_database_url) == (2, 12, 2)

    def test_another_seed_adds_its_own_rows(self, fresh_database_url: str) -> None:
        seed(fresh_database_url, "--users", "2", "--items", "4", "--seed", "1")

        seed(fresh_database_url, "--users", "2", "--items", "4", "--seed", "2")

        assert counts(fresh_database_url) == (4, 8, 4)
