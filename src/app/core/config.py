"""Application settings, read from the environment and `.env`."""

import math
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Literal, get_args, get_origin
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.core.crypto import derived_key

DEV_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 - refused in production below
# 32 bytes of entropy, as `secrets.token_urlsafe(32)` gives.
SECRET_KEY_MIN_BITS = 256
SECRET_KEY_MIN_LENGTH = 32
# Character classes and how many characters each has, to estimate a key's entropy.
_KEY_ALPHABETS = (
    (str.islower, 26),
    (str.isupper, 26),
    (str.isdigit, 10),
    (lambda char: not char.isalnum(), 33),
)


ProviderKind = Literal["oidc", "google", "github"]
PROVIDER_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class OAuthProviderSettings(BaseModel):
    """One entry of `OAUTH_PROVIDERS`: a provider people may sign in with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=PROVIDER_NAME_PATTERN, description="In the URLs")
    kind: ProviderKind
    issuer: str | None = Field(default=None, description="For `oidc`: discovery starts here")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    scopes: tuple[str, ...] | None = None
    display_name: str | None = None

    @model_validator(mode="after")
    def _issuer_for_oidc(self) -> "OAuthProviderSettings":
        if self.kind == "oidc" and not self.issuer:
            raise ValueError(f"OAuth provider {self.name!r} of kind oidc needs an issuer")
        if self.kind != "oidc" and self.issuer:
            raise ValueError(f"OAuth provider {self.name!r}: only kind oidc takes an issuer")
        return self


class Settings(BaseSettings):
    """Every setting, one environment variable each (see `.env.example`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_name: str = Field(default="app", description="Title of the API in OpenAPI and /docs")
    environment: Literal["development", "test", "production"] = Field(
        default="development", description="`production` refuses the default `SECRET_KEY`"
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET_KEY),
        description="Signs pagination cursors; the same on every instance. Production refuses "
        "one under 32 characters or about 256 bits. Generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`",
    )
    encryption_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Fernet keys (comma-separated, newest first) that encrypt secrets kept at "
        "rest (second-factor seeds): the first encrypts, all decrypt; empty derives one from "
        "`SECRET_KEY`. Generate one with `python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'`",
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///data/app.db",
        description="SQLAlchemy URL: `sqlite+aiosqlite:///…` or `postgresql+asyncpg://…`",
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        description="Connections per process (PostgreSQL; SQLite always uses one)",
    )
    db_max_overflow: int = Field(
        default=0,
        ge=0,
        description="Extra connections under bursts; each is closed after use, so keep it small",
    )
    db_pool_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a pooled connection, then 503"
    )
    db_connect_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to connect; also the readiness probe's budget"
    )
    db_command_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a statement may take, or an unreachable server stay silent, then 503",
    )
    db_pooler: Literal["none", "transaction"] = Field(
        default="none",
        description="`transaction` when `DATABASE_URL` is a transaction pooler (PgBouncer's "
        "`pool_mode = transaction`): no statement is prepared by name, and job workers poll "
        "instead of LISTEN",
    )
    db_echo: bool = Field(default=False, description="Log every SQL statement (development)")
    auto_migrate: bool = Field(
        default=True, description="`app serve` applies pending migrations first"
    )

    redis_url: str | None = Field(
        default=None,
        description="`redis://host:6379/0` shares rate-limit counts across instances (checked by "
        "/health/ready); empty keeps them in each process's memory",
    )
    redis_timeout: float = Field(
        default=0.5,
        gt=0,
        le=5,
        description="Seconds any Redis call may take (connect, command, reply); then rate "
        "limits count in the process for a few seconds and the auth cache turns off",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe level written"
    )
    log_format: Literal["json", "console"] = Field(
        default="console", description="How log lines look: `json` is one JSON object per line"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token `/metrics` requires (Prometheus' `authorization` setting); "
        "empty leaves it open, except in production, where it is then off (404)",
    )
    docs_enabled: bool | None = Field(
        default=None,
        description="Serve `/docs`, `/redoc` and `/openapi.json`; empty means on, except in "
        "production",
    )
    admin_enabled: bool | None = Field(
        default=None,
        description="Serve the admin console at `/admin`; empty means on, except in production",
    )
    admin_idle_timeout: timedelta = Field(
        default=timedelta(minutes=15),
        description="A console sign-in ends after this long unused (to within "
        "`SESSION_TOUCH_INTERVAL`)",
    )
    totp_issuer: str = Field(
        default="", description="The name authenticator apps show next to a code; empty: `APP_NAME`"
    )
    mfa_token_ttl: timedelta = Field(
        default=timedelta(minutes=5),
        description="How long the `mfa_token` of a sign-in waiting for its second factor lasts",
    )
    mfa_max_failures: int = Field(
        default=5, ge=1, description="Wrong codes an `mfa_token` takes before it is dead"
    )
    webauthn_rp_id: str = Field(
        default="",
        description="The passkeys' relying party: a domain (never an IP address) that every "
        "origin's host is or ends with; empty: the host of `PUBLIC_URL`",
    )
    webauthn_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Comma-separated origins whose pages may use the passkeys; empty: the "
        "origin of `PUBLIC_URL`",
    )
    webauthn_challenge_ttl: timedelta = Field(
        default=timedelta(minutes=5),
        description="How long a passkey registration or sign-in may take",
    )
    otel_enabled: bool = Field(
        default=False,
        description="FastAPI's native OpenTelemetry spans, metrics and error logs through the "
        "global providers (set up an OpenTelemetry SDK too); off spares every request the "
        "providers' lookup",
    )

    forwarded_allow_ips: str = Field(
        default="",
        description="Proxies whose X-Forwarded-For/-Proto are believed (client IP for rate "
        "limits and sessions): comma-separated IPs or networks, `*` for any; empty trusts none, "
        "so no client can spoof its address. Set it to the proxy in front of the app",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=["*"],
        description="Comma-separated `Host` names the app answers (`api.example.com`, "
        "`*.example.com`); any other host gets 400. `*` allows any",
    )
    shutdown_timeout: int = Field(
        default=20, ge=1, description="Seconds in-flight requests may finish after SIGTERM"
    )
    server_loop: Literal["asyncio", "uvloop"] = Field(
        default="asyncio",
        description="The event loop of `app serve`. `asyncio` serves a saturated process's "
        "connections in turn; `uvloop` is about 5 % faster but leaves some of them waiting "
        "seconds under overload",
    )

    http_header_timeout: float = Field(
        default=15.0,
        gt=0,
        description="Seconds a connection may take to send a request's line and headers, "
        "then it is closed (slow or silent clients)",
    )
    http_body_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a request's body may take to arrive, from its start; then 408 and "
        "the connection is closed (bodies that trickle or never come)",
    )
    http_max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        description="Request line and headers larger than this answer 431 and are not read",
    )
    http_max_headers: int = Field(
        default=100, ge=1, description="Requests with more header fields answer 431"
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="Larger request bodies answer 413 unread"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[], description="Comma-separated origins allowed by CORS; empty disables CORS"
    )
    retry_after_seconds: int = Field(default=5, ge=1, description="`Retry-After` on a 503")
    max_concurrent_requests: int = Field(
        default=64,
        ge=0,
        description="Requests one process serves at once; the next wait for a slot (0: no limit)",
    )
    request_queue_timeout: float = Field(
        default=0.5,
        gt=0,
        description="Seconds a request waits for a slot, then 503 with `Retry-After`",
    )
    require_if_match: bool = Field(
        default=False,
        description="Updates and deletes without `If-Match` answer 428 instead of overwriting",
    )

    session_lifetime: timedelta = Field(
        default=timedelta(days=14), description="A session ends this long after login"
    )
    session_idle_timeout: timedelta = Field(
        default=timedelta(hours=24), description="A session also ends after this long unused"
    )
    session_touch_interval: timedelta = Field(
        default=timedelta(minutes=1),
        description="`last_used_at` is written at most this often per session",
    )
    reauth_window: timedelta = Field(
        default=timedelta(minutes=10),
        description="Sensitive acts (a password or address change, a new API key, turning a "
        "second factor off) need a sign-in or `POST /auth/reauth` this recent",
    )
    require_2fa_roles: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Comma-separated roles whose holders need a second factor: until they sign "
        "in with one (an authenticator app or a passkey), they may only enrol one",
    )
    auth_cache_ttl: timedelta = Field(
        default=timedelta(seconds=10),
        description="How long each process may reuse a token's lookup; 0 turns the cache off. "
        "With `REDIS_URL` revocations reach every process over Redis pub/sub, and the cache is "
        "off while that subscription is down; without it only a single process (one worker) "
        "caches, and changes made by the CLI reach it within this time",
    )
    auth_cache_size: int = Field(
        default=10_000, ge=1, description="Token lookups each process keeps at most"
    )

    password_hash_time_cost: int = Field(
        default=3, ge=1, description="Argon2id passes (RFC 9106 low-memory profile)"
    )
    password_hash_memory_kib: int = Field(default=65536, ge=8, description="Argon2id memory in KiB")
    password_hash_parallelism: int = Field(default=4, ge=1, description="Argon2id lanes")
    password_hash_concurrency: int = Field(
        default=2, ge=1, description="Hashes computed at once, in worker threads"
    )
    password_hash_queue_timeout: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Seconds a login or registration may wait for a hashing slot, then 503; at once "
            "when the queue ahead would take longer at the recent hashing speed"
        ),
    )

    rate_limit_login_email: str = Field(
        default="5/15minutes",
        description="Failed logins per email (`limits` notation; empty turns it off)",
    )
    rate_limit_login_ip: str = Field(default="50/15minutes", description="Failed logins per IP")
    rate_limit_register_ip: str = Field(default="20/hour", description="Registrations per IP")
    rate_limit_password_reset_email: str = Field(
        default="3/hour", description="Password reset requests per email"
    )
    rate_limit_password_reset_ip: str = Field(
        default="20/hour", description="Password reset requests per IP"
    )
    rate_limit_account_mail: str = Field(
        default="5/hour",
        description="Verification resends and email changes per signed-in user",
    )
    rate_limit_mail_recipient: str = Field(
        default="5/hour",
        description="Mails sent to any one address, whoever asks for them; beyond it they are "
        "dropped (counted in `mail_dropped_total`), the answer unchanged",
    )

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where people reach the app (or its front end): the links in mails "
        "(`/account/…` pages) and the sign-in providers' redirect URL start with it. Unset, "
        "`app serve` uses the address it listens on",
    )
    email_backend: Literal["console", "smtp"] = Field(
        default="console",
        description="`smtp` sends through the SMTP settings; `console` prints each message to "
        "stdout (development; refused in production)",
    )
    email_from: str = Field(default="app <noreply@example.com>", description="The mails' sender")
    smtp_host: str = Field(default="localhost", description="SMTP server")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    smtp_username: str | None = Field(default=None, description="SMTP login, if any")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password, if any")
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS"
    )
    smtp_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a whole SMTP exchange may take (each reply too); then it is retried",
    )
    outbox_max_attempts: int = Field(
        default=12,
        ge=1,
        description="Tries to deliver a mail (a `mail.deliver` job) before giving up on it; "
        "with the default delays they span 34 to 68 minutes",
    )
    outbox_retry_delay: float = Field(
        default=2.0,
        gt=0,
        description="Seconds before a mail's first retry; doubled after each (each delay drawn "
        "between half of it and all of it)",
    )
    outbox_keep_failed: timedelta = Field(
        default=timedelta(days=30),
        description="How long the record of a mail given up on (recipient, subject, last error) "
        "is kept",
    )
    jobs_worker: bool = Field(
        default=True,
        description="Run background jobs in this process (`app serve`); turn it off where "
        "`app worker` processes run them",
    )
    jobs_concurrency: int = Field(
        default=10, ge=1, le=1000, description="Jobs a worker runs at once"
    )
    jobs_poll_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between a worker's looks for due jobs when nothing wakes it (a "
        "commit that enqueued wakes its own process, and on PostgreSQL every worker, at once)",
    )
    jobs_lease: float = Field(
        default=30.0,
        ge=1,
        description="Seconds a claimed job stays its worker's; a running job renews it every "
        "third of that, so a job whose worker died runs again after at most this long",
    )
    jobs_listen: bool = Field(
        default=True,
        description="On PostgreSQL, wake workers by LISTEN/NOTIFY (one more connection per "
        "worker); off, and always with `DB_POOLER=transaction`, they find new jobs by polling",
    )
    jobs_keep_done: timedelta = Field(
        default=timedelta(days=7), description="How long finished jobs are kept, then purged"
    )
    jobs_keep_dead: timedelta = Field(
        default=timedelta(days=30),
        description="How long dead and cancelled jobs (with their last error) are kept",
    )
    audit_retention: timedelta = Field(
        default=timedelta(days=365),
        description="How long audit events are kept, then purged (hourly, by a scheduled job)",
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Let webhook endpoints be on loopback and private addresses (tests and "
        "development; refused in production)",
    )
    webhooks_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a webhook delivery may take, connecting and reading the answer; "
        "then it is retried",
    )
    webhooks_max_attempts: int = Field(
        default=10,
        ge=1,
        description="Tries to deliver one event to one endpoint before giving up on it; with "
        "the default delays they span about 2 to 4 hours",
    )
    webhooks_retry_delay: float = Field(
        default=30.0,
        gt=0,
        description="Seconds before a delivery's first retry; doubled after each (each delay "
        "drawn between half of it and all of it)",
    )
    webhooks_disable_after: int = Field(
        default=20,
        ge=1,
        description="Failed tries in a row (across deliveries, with no success between) after "
        "which an endpoint is disabled and its owners mailed",
    )
    webhooks_disable_period: timedelta = Field(
        default=timedelta(days=1),
        description="…and for at least this long: a short outage under load disables nothing",
    )
    webhooks_secret_grace: timedelta = Field(
        default=timedelta(hours=24),
        description="How long an endpoint's previous secret still signs deliveries after a "
        "rotation",
    )
    password_reset_ttl: timedelta = Field(
        default=timedelta(minutes=30), description="How long a password reset link works"
    )
    email_verification_ttl: timedelta = Field(
        default=timedelta(days=2), description="How long an email verification link works"
    )
    email_change_ttl: timedelta = Field(
        default=timedelta(hours=1), description="How long an email change confirmation works"
    )
    require_verified_email: bool = Field(
        default=False,
        description="Refuse logins (403 `EMAIL_NOT_VERIFIED`) until the address is verified",
    )

    invitation_ttl: timedelta = Field(
        default=timedelta(days=7), description="How long an invitation to an organisation works"
    )
    rate_limit_invitations: str = Field(
        default="50/hour", description="Invitations one organisation may send"
    )
    admins_read_orgs: bool = Field(
        default=False,
        description="Platform admins may read (GET) inside every organisation without being "
        "members; off, an organisation's data is its members' alone",
    )

    oauth_providers: list[OAuthProviderSettings] = Field(
        default=[],
        description="Sign-in providers, a JSON list of `{name, kind: oidc|google|github, "
        "issuer (oidc), client_id, client_secret, scopes?, display_name?}`; register "
        "`PUBLIC_URL/api/v1/auth/oauth/<name>/callback` as the redirect URL at each",
    )
    oauth_timeout: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Seconds a call to a sign-in provider may take, then 503 (or the sign-in "
        "fails with `unavailable`)",
    )
    oauth_state_ttl: timedelta = Field(
        default=timedelta(minutes=10),
        description="How long a sign-in may stay at the provider before it must start again",
    )
    login_code_ttl: timedelta = Field(
        default=timedelta(minutes=1),
        description="How long the code a provider sign-in ends with may wait to be exchanged "
        "for a session (also a link ticket's lifetime)",
    )
    rate_limit_oauth_ip: str = Field(
        default="30/15minutes", description="Provider sign-ins and links started per IP"
    )

    @field_validator("oauth_providers")
    @classmethod
    def _unique_provider_names(
        cls, providers: list[OAuthProviderSettings]
    ) -> list[OAuthProviderSettings]:
        names = [provider.name for provider in providers]
        if len(names) != len(set(names)):
            raise ValueError("OAUTH_PROVIDERS names must be unique")
        return providers

    @field_validator(
        "cors_origins", "allowed_hosts", "require_2fa_roles", "webauthn_origins", mode="before"
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        # A comma-separated list reads better in `.env` than JSON.
        if isinstance(value, str):
            return [entry.strip() for entry in value.split(",") if entry.strip()]
        return value

    @field_validator(
        "metrics_token",
        "docs_enabled",
        "admin_enabled",
        "smtp_username",
        "smtp_password",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _require_secret_in_production(self) -> "Settings":
        if self.is_production and self.uses_default_secret_key:
            raise ValueError("SECRET_KEY must be set in production")
        if self.is_production and (problem := weak_key_problem(self.secret_key)):
            raise ValueError(f"SECRET_KEY {problem}")
        if self.is_production and self.email_backend == "console":
            raise ValueError("EMAIL_BACKEND=console prints mails: set up SMTP in production")
        if (problem := _fernet_key_problem(self.encryption_keys)) is not None:
            raise ValueError(f"ENCRYPTION_KEYS {problem}")
        if self.is_production and self.webhooks_allow_private:
            raise ValueError("WEBHOOKS_ALLOW_PRIVATE opens the internal network: not in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_default_secret_key(self) -> bool:
        return self.secret_key.get_secret_value() == DEV_SECRET_KEY

    @property
    def encryption_key_list(self) -> list[bytes]:
        """The configured Fernet keys, newest first; one derived from `SECRET_KEY` if none."""
        listed = self.encryption_keys.get_secret_value().split(",")
        keys = [key.strip().encode() for key in listed if key.strip()]
        return keys or [derived_key(self.secret_key.get_secret_value(), "at-rest")]

    @property
    def relying_party_id(self) -> str:
        return self.webauthn_rp_id or (urlsplit(self.public_url).hostname or "localhost")

    @property
    def relying_party_origins(self) -> list[str]:
        parts = urlsplit(self.public_url)
        return self.webauthn_origins or [f"{parts.scheme}://{parts.netloc}"]

    @property
    def serves_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @property
    def serves_admin(self) -> bool:
        return self.admin_enabled if self.admin_enabled is not None else not self.is_production

    @property
    def serves_metrics(self) -> bool:
        return self.metrics_token is not None or not self.is_production


def _fernet_key_problem(keys: SecretStr) -> str | None:
    for number, key in enumerate(keys.get_secret_value().split(","), 1):
        if not key.strip():
            continue
        try:
            Fernet(key.strip().encode())
        except ValueError:
            return f"entry {number} is not a Fernet key (32 url-safe base64-encoded bytes)"
    return None


def weak_key_problem(key: SecretStr) -> str | None:
    """Why a production key is too weak, or None: shorter than 32 characters, or under 256
    bits by the usual estimate: its length (at most four times its distinct characters, so
    that padding counts little) times log2 of the size of the character classes it draws on.
    A guard against the obvious (a word, a phrase, a repeated string), not a proof."""
    value = key.get_secret_value()
    if len(value) < SECRET_KEY_MIN_LENGTH:
        return f"must be at least {SECRET_KEY_MIN_LENGTH} characters"
    alphabet = sum(size for belongs, size in _KEY_ALPHABETS if any(map(belongs, value)))
    distinct = len(set(value))
    bits = min(len(value), 4 * distinct) * math.log2(max(alphabet, 2))
    if bits < SECRET_KEY_MIN_BITS:
        return (
            f"is too guessable (about {int(bits)} bits, needs {SECRET_KEY_MIN_BITS}): generate "
            "one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return None


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_table() -> str:
    """The README's configuration table, from the fields above (`app settings`)."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = field.description or ""
        if get_origin(field.annotation) is Literal:
            meaning += ". One of " + ", ".join(f"`{value}`" for value in get_args(field.annotation))
        rows.append(f"| `{name.upper()}` | {_shown(field.default)} | {meaning} |")
    return "\n".join(rows) + "\n"


def _shown(default: object) -> str:
    if isinstance(default, SecretStr):
        return f"`{default.get_secret_value()}` (development only; refused in production)"
    if isinstance(default, timedelta):
        iso = TypeAdapter(timedelta).dump_python(default, mode="json")
        return f"`{iso}` ({spelled_out(default)})"
    if default is None or default == "" or default == []:
        return "empty"
    if isinstance(default, list):
        return f"`{','.join(default)}`"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def spelled_out(duration: timedelta) -> str:
    """`P1D` as "1 day": the table's readers need not decode ISO 8601 durations."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"
