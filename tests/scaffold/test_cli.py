"""`app new entity` on the real project: dry runs and refusals write nothing."""

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import REPO_ROOT

runner = CliRunner()


def project_state() -> list[tuple[str, int]]:
    """Every source and test file with its modification time."""
    return sorted(
        (str(path), path.stat().st_mtime_ns)
        for folder in ("src", "tests")
        for path in (REPO_ROOT / folder).rglob("*.py")
    )


class TestNewEntity:
    def test_dry_run_lists_the_files_and_writes_nothing(self) -> None:
        before = project_state()

        result = runner.invoke(
            cli, ["new", "entity", "Gadget", "-f", "name:str", "--dry-run"], catch_exceptions=False
        )

        assert result.exit_code == 0, result.output
        for path in (
            "src/app/gadgets/models.py",
            "src/app/gadgets/router.py",
            "tests/gadgets/test_router.py",
            "src/app/api.py",
            "_add_gadgets.py",
        ):
            assert path in result.output
        assert project_state() == before

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["Item", "-f", "name:str"], "app.items already exists"),
            (["Users", "-f", "name:str", "--plural", "users"], "app.users already exists"),
            (["Import", "-f", "name:str"], "keyword or builtin"),
            (["Gadget", "-f", "name:blob"], "unknown type 'blob'"),
            (["Gadget", "-f", "count:int=ten"], "not a valid int default"),
            (["Gadget", "-f", "version:int"], "reserved"),
            (["Gadget", "-f", "owner_id:uuid"], "reserved"),
        ],
    )
    def test_bad_input_is_a_clear_error_and_writes_nothing(
        self, arguments: list[str], message: str
    ) -> None:
        before = project_state()

        result = runner.invoke(cli, ["new", "entity", *arguments])

        assert result.exit_code == 2
        assert message in result.output
        assert project_state() == before
