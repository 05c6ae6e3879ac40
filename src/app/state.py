"""The app's `app.state`, typed: the shared part (`CoreState`) and what its features keep
there, set by `create_app` and the lifespan in `main.py`."""

from typing import TYPE_CHECKING, Any, cast

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from app.core.ratelimit import RateLimiter
from app.core.security import CurrentPasswordCheck, PasswordHasher
from app.core.state import CoreState
from app.identity.auth_cache import Revocations
from app.identity.credentials import BearerKind
from app.jobs.definitions import JobRegistry
from app.jobs.metrics import JobMetrics
from app.oauth.providers import ProviderRegistry

if TYPE_CHECKING:
    # Only for the annotation: the worker's module needs the dependencies, which need this one.
    from app.jobs.worker import Worker


class AppState(CoreState):
    redis: Redis | None
    rate_limiter: RateLimiter
    password_hasher: PasswordHasher
    password_check: CurrentPasswordCheck
    # Bearer tokens other than sessions' (API keys), by prefix.
    bearer_kinds: tuple[BearerKind, ...]
    # The auth cache's revocations: None when the cache is off.
    revocations: Revocations | None
    # The job types and schedules of `app.job_types`, which the workers run.
    job_registry: JobRegistry
    job_metrics: JobMetrics
    # This process's job worker; None with `JOBS_WORKER=false`.
    jobs_worker: "Worker | None"
    # The sign-in providers of OAUTH_PROVIDERS.
    oauth_providers: ProviderRegistry


def app_state(connection: HTTPConnection) -> AppState:
    """The state of the app serving `connection`."""
    app: Any = connection.app
    return cast(AppState, app.state)
