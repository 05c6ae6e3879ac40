"""`app new entity` in a copy of the project: the result passes every check untouched.

Runs on the suite's database: SQLite, or PostgreSQL when `TEST_DATABASE_URL` is set.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

EVERY_TYPE = [
    "name:str:80",
    "notes:text?",
    "count:int=0",
    "ratio:float?",
    "price:decimal",
    "active:bool=true",
    "due_on:date?",
    "starts_at:datetime",
    "ref:uuid?",
    "status:enum(draft|live|gone)=draft",
]
OWNED = [
    "Widget",
    *(arg for field in EVERY_TYPE for arg in ("-f", field)),
    "--unique",
    "name",
    "--search",
    "name,notes",
]
UNOWNED = [
    "Tag",
    "-f",
    "label:str:40",
    "-f",
    "weight:int",
    "-f",
    "kind_code:enum(a|b)",
    "-f",
    "seen_on:date=2026-01-01",
    "--tenant",
    "none",
    "--unique",
    "label",
    "--search",
    "label",
]
TIMEOUT = 300


class Project:
    """A copy of the project, run with this interpreter and the copy's `src` first on the path."""

    def __init__(self, root: Path, database_url: str):
        self.root = root
        self.env = {**os.environ, "PYTHONPATH": str(root / "src"), "DATABASE_URL": database_url}

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def tool(self, name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(Path(sys.executable).parent / name), *arguments)

    def app(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "app", *arguments)


def passed(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("project")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*_cache")
    for folder in ("src", "tests"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=ignore)
    shutil.copy(REPO_ROOT / "pyproject.toml", root)
    return Project(root, "sqlite+aiosqlite:///unused.db")


@pytest.fixture(scope="module")
def generated(project: Project) -> Project:
    for arguments in (OWNED, UNOWNED):
        result = project.app("new", "entity", *arguments)
        assert passed(result), result.stdout + result.stderr
    return project


class TestGeneratedFeature:
    def test_writes_both_features_and_their_migrations(self, generated: Project) -> None:
        root = generated.root
        for plural in ("widgets", "tags"):
            for name in (
                "models",
                "schemas",
                "filters",
                "repository",
                "service",
                "dependencies",
                "router",
            ):
                assert (root / f"src/app/{plural}/{name}.py").is_file()
            assert (root / f"tests/{plural}/test_router.py").is_file()
            assert list((root / "src/app/migrations/versions").glob(f"*_add_{plural}.py"))

    def test_lint_format_types_and_contracts_pass(self, generated: Project) -> None:
        for result in (
            generated.tool("ruff", "check", "--no-cache", "."),
            generated.tool("ruff", "format", "--check", "--no-cache", "."),
            generated.tool("mypy", "src"),
            generated.tool("lint-imports"),
        ):
            assert passed(result), result.stdout + result.stderr

    def test_migrations_apply_and_match_the_models(
        self, generated: Project, fresh_database_url: str
    ) -> None:
        generated.env["DATABASE_URL"] = fresh_database_url

        upgrade = generated.app("db", "upgrade")
        check = generated.app("db", "check")
        downgrade = generated.app("db", "downgrade", "base")
        upgrade_again = generated.app("db", "upgrade")

        assert passed(upgrade), upgrade.stderr
        assert passed(check), check.stdout + check.stderr
        assert passed(downgrade), downgrade.stderr
        assert passed(upgrade_again), upgrade_again.stderr

    def test_generated_tests_pass(self, generated: Project) -> None:
        result = generated.run(
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/widgets",
            "tests/tags",
        )

        assert passed(result), result.stdout[-3000:]
        assert " passed" in result.stdout

    def test_running_again_without_force_refuses(self, generated: Project) -> None:
        result = generated.app("new", "entity", *UNOWNED)

        assert result.returncode == 2
        assert "already exists" in result.stderr

    def test_force_rewrites_without_duplicating_registration(self, generated: Project) -> None:
        migrations = set((generated.root / "src/app/migrations/versions").glob("*.py"))

        result = generated.app("new", "entity", *UNOWNED, "--force")

        assert passed(result), result.stdout + result.stderr
        api = (generated.root / "src/app/api.py").read_text()
        assert api.count("import router as tags_router") == 1
        assert api.count("include(tags_router)") == 1
        assert set((generated.root / "src/app/migrations/versions").glob("*.py")) == migrations
