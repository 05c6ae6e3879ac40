"""Settings from the environment, `.env.example` and the README's generated table."""

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from app.cli import README_TABLE, cli
from app.core.config import Settings, settings_table
from tests.conftest import REPO_ROOT


class TestSettings:
    def test_cors_origins_are_comma_separated(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")

        assert Settings(_env_file=None).cors_origins == ["https://a.example", "https://b.example"]

    def test_production_refuses_the_default_secret(self) -> None:
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(_env_file=None, environment="production")

    def test_env_example_lists_every_setting_with_its_default(self) -> None:
        example = Settings(_env_file=REPO_ROOT / ".env.example")
        names = {
            line.split("=", 1)[0].lower()
            for line in Path(REPO_ROOT / ".env.example").read_text().splitlines()
            if line and not line.startswith("#")
        }

        assert names == set(Settings.model_fields)
        assert example == Settings(_env_file=None, redis_url="")

    def test_durations_accept_iso_8601(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSION_IDLE_TIMEOUT", "PT2H")

        assert Settings(_env_file=None).session_idle_timeout == timedelta(hours=2)


class TestSettingsTable:
    def test_readme_shows_the_generated_table(self) -> None:
        start, end = README_TABLE
        readme = (REPO_ROOT / "README.md").read_text()
        assert start in readme, f"README.md lost the {start.strip()} marker"
        assert end in readme, f"README.md lost the {end} marker"
        shown = readme.split(start, 1)[1].split(end, 1)[0]

        assert shown == settings_table(), (
            "README.md's configuration table is stale; run: uv run app settings --update README.md"
        )

    def test_defaults_are_shown_as_a_reader_would_write_them(self) -> None:
        rows = {row.split(" | ")[0]: row for row in settings_table().splitlines()}

        assert "`P14D` (14 days)" in rows["| `SESSION_LIFETIME`"]
        assert "`PT1M` (1 minute)" in rows["| `SESSION_TOUCH_INTERVAL`"]
        assert "`dev-only-secret-change-me` (development only" in rows["| `SECRET_KEY`"]
        assert "| empty |" in rows["| `CORS_ORIGINS`"]
        assert "| `false` |" in rows["| `DB_ECHO`"]
        assert "One of `json`, `console`" in rows["| `LOG_FORMAT`"]

    def test_every_setting_is_described(self) -> None:
        undescribed = [
            name for name, field in Settings.model_fields.items() if not field.description
        ]

        assert undescribed == []

    def test_update_rewrites_only_the_table(self, tmp_path: Path) -> None:
        start, end = README_TABLE
        page = tmp_path / "README.md"
        page.write_text(f"# Title\n\n{start}| stale |\n{end}\n\nAfter.\n")

        result = CliRunner().invoke(cli, ["settings", "--update", str(page)])

        assert result.exit_code == 0, result.output
        assert page.read_text() == f"# Title\n\n{start}{settings_table()}{end}\n\nAfter.\n"

    def test_update_refuses_a_file_without_markers(self, tmp_path: Path) -> None:
        page = tmp_path / "README.md"
        page.write_text("# No table here\n")

        result = CliRunner().invoke(cli, ["settings", "--update", str(page)])

        assert result.exit_code == 1
        assert page.read_text() == "# No table here\n"


# What `secrets.token_urlsafe(32)` looks like.
STRONG_KEY = "uiH-TrQOvXtgVSmawpi1KD8hFg8FvB_qSiiKubaGRr8"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "at least 32 characters"),
        ("a", "at least 32 characters"),
        ("a-real-secret-key-for-this-test", "at least 32 characters"),
        ("a" * 64, "too guessable"),
        ("0123456789abcdef0123456789abcdef", "too guessable"),  # 16 random bytes in hex
        ("password" * 5, "too guessable"),
    ],
)
def test_production_refuses_a_weak_secret_key(key: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=f"SECRET_KEY .*{problem}"):
        Settings(_env_file=None, environment="production", secret_key=key, email_backend="smtp")


@pytest.mark.parametrize(
    "key",
    [
        STRONG_KEY,
        "9c4b1e7a0d3f6b2c8e5a1d4f7b0c3e6a9d2f5b8c1e4a7d0f3b6c9e2a5d8f1b4c",  # openssl rand -hex 32
        "OcSK8pdkCxEfrP_dJa5_fY5BL0L1vRcfDMOkcAfnFdv0mU1JagRussFKD0pf5VaT",  # token_urlsafe(48)
    ],
)
def test_production_takes_a_generated_secret_key(key: str) -> None:
    assert Settings(
        _env_file=None, environment="production", secret_key=key, email_backend="smtp"
    ).is_production


def test_production_refuses_printed_mail() -> None:
    secret = STRONG_KEY
    with pytest.raises(ValidationError, match="EMAIL_BACKEND"):
        Settings(_env_file=None, environment="production", secret_key=secret)

    assert Settings(
        _env_file=None, environment="production", secret_key=secret, email_backend="smtp"
    ).is_production
