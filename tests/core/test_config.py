"""Settings from the environment and `.env.example`."""

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings
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
