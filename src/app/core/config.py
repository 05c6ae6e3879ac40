"""Application settings, read from the environment and `.env`."""

from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 - refused in production below


class Settings(BaseSettings):
    """Every setting, one environment variable each (see `.env.example`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_name: str = "app"
    environment: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)

    database_url: str = "sqlite+aiosqlite:///data/app.db"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    # Seconds a statement may take, or an unreachable server stay silent, before a 503.
    db_command_timeout: float = Field(default=30.0, gt=0)
    db_echo: bool = False
    auto_migrate: bool = True

    redis_url: str | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"

    # Proxies whose X-Forwarded-For/-Proto are believed (client IP for rate limits and
    # sessions): comma-separated IPs or networks, "*" for any; empty trusts none.
    forwarded_allow_ips: str = "127.0.0.1"
    # Seconds `serve` waits for in-flight requests after SIGTERM before closing them.
    shutdown_timeout: int = Field(default=20, ge=1)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = []
    retry_after_seconds: int = Field(default=5, ge=1)
    # Updates and deletes without `If-Match` answer 428 instead of overwriting blindly.
    require_if_match: bool = False

    session_lifetime: timedelta = timedelta(days=14)
    session_idle_timeout: timedelta = timedelta(hours=24)
    session_touch_interval: timedelta = timedelta(minutes=1)

    # Argon2id cost (RFC 9106 "low memory" profile) and how many hashes run at once.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)
    password_hash_concurrency: int = Field(default=2, ge=1)

    rate_limit_login_email: str = "5/15minutes"
    rate_limit_login_ip: str = "50/15minutes"
    rate_limit_register_ip: str = "20/hour"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # A comma-separated list reads better in `.env` than JSON.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _require_secret_in_production(self) -> "Settings":
        if (
            self.environment == "production"
            and self.secret_key.get_secret_value() == DEV_SECRET_KEY
        ):
            raise ValueError("SECRET_KEY must be set in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
