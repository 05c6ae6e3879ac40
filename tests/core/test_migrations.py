"""`app db …`: upgrade, downgrade to base and back, drift detection, new revisions."""

import asyncio
import shutil
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import inspect, text
from typer.testing import CliRunner

import app.cli
from app.cli import cli
from app.core.config import Settings
from app.core.db import create_engine
from app.core.migrations import alembic_config

runner = CliRunner()


def run_cli(database_url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args), env={"DATABASE_URL": database_url})
    return result.exit_code, result.output


def table_names(database_url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(Settings(_env_file=None, database_url=database_url))
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        await engine.dispose()
        return set(names)

    return asyncio.run(read())


def execute(database_url: str, sql: str) -> None:
    async def run() -> None:
        engine = create_engine(Settings(_env_file=None, database_url=database_url))
        async with engine.begin() as connection:
            await connection.execute(text(sql))
        await engine.dispose()

    asyncio.run(run())


class TestMigrations:
    def test_upgrade_downgrade_base_upgrade_roundtrip(self, fresh_database_url: str) -> None:
        assert run_cli(fresh_database_url, "db", "upgrade")[0] == 0
        migrated = table_names(fresh_database_url)
        assert run_cli(fresh_database_url, "db", "downgrade", "base")[0] == 0
        assert table_names(fresh_database_url) <= {"alembic_version"}
        assert run_cli(fresh_database_url, "db", "upgrade")[0] == 0

        assert table_names(fresh_database_url) == migrated
        assert {"alembic_version", "users", "user_sessions"} <= migrated

    def test_check_finds_no_drift_after_upgrade(self, fresh_database_url: str) -> None:
        run_cli(fresh_database_url, "db", "upgrade")

        code, output = run_cli(fresh_database_url, "db", "check")

        assert code == 0, output
        assert "No drift" in output

    def test_check_fails_on_drift(self, fresh_database_url: str) -> None:
        run_cli(fresh_database_url, "db", "upgrade")
        execute(fresh_database_url, "CREATE TABLE stray (id INTEGER PRIMARY KEY)")

        code, output = run_cli(fresh_database_url, "db", "check")

        assert code == 1
        assert "Schema drift" in output


class TestRevision:
    @pytest.fixture
    def scripts(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """A copy of the migrations folder, so the test never writes into the project."""
        location = tmp_path / "migrations"
        shutil.copytree(Path(app.cli.__file__).parent / "migrations", location)
        original = alembic_config

        def config(settings: Settings) -> Config:
            copied = original(settings)
            copied.set_main_option("script_location", str(location))
            return copied

        monkeypatch.setattr(app.cli, "alembic_config", config)
        return location

    def test_revision_writes_a_dated_file(self, fresh_database_url: str, scripts: Path) -> None:
        run_cli(fresh_database_url, "db", "upgrade")
        before = set((scripts / "versions").glob("*.py"))

        code, output = run_cli(fresh_database_url, "db", "revision", "-m", "add gadgets")

        assert code == 0, output
        (written,) = set((scripts / "versions").glob("*.py")) - before
        assert written.name.endswith("_add_gadgets.py")
        assert written.name[:15].replace("-", "").isdigit()
        assert "def downgrade() -> None:" in written.read_text()
