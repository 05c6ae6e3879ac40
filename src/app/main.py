"""The application factory."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import structlog
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline
from starlette.middleware.cors import CORSMiddleware

from app.api import include_api
from app.api_keys.dependencies import authenticate_api_key
from app.console.router import include_console
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_read_sessionmaker, create_sessionmaker
from app.core.handlers import register_exception_handlers
from app.core.logging import configure_logging
from app.core.metrics import Metrics
from app.core.middleware import (
    AccessLogMiddleware,
    AdmissionMiddleware,
    AllowedHostsMiddleware,
    BodyLimitMiddleware,
    HeadMiddleware,
    SecurityHeadersMiddleware,
    is_valid_uuid,
    new_request_id,
)
from app.core.models import utcnow
from app.core.openapi import install_openapi
from app.core.pagination import CursorCodec
from app.core.ratelimit import create_rate_limiter
from app.core.redis import create_redis
from app.core.security import CurrentPasswordCheck, PasswordHasher
from app.identity.auth_cache import REVOKE, running_auth_cache
from app.identity.credentials import BearerKind
from app.identity.models import KEY_PREFIX, ORG_KEY_PREFIX
from app.job_types import job_registry, job_resources
from app.jobs.definitions import WAKE_JOBS
from app.jobs.metrics import JobMetrics
from app.jobs.worker import embedded_worker
from app.oauth.providers import ProviderRegistry
from app.ops.router import router as ops_router
from app.org_api_keys.dependencies import authenticate_org_api_key
from app.pages.router import include_pages
from app.state import AppState

logger = structlog.get_logger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = cast(AppState, app.state)
    settings = state.settings
    engine = create_engine(settings)
    redis = create_redis(settings)
    state.engine = engine
    state.sessionmaker = create_sessionmaker(engine)
    state.read_sessionmaker = create_read_sessionmaker(engine)
    state.row_security = None if engine.dialect.name == "postgresql" else False
    state.redis = redis
    state.rate_limiter = create_rate_limiter(settings, redis)
    state.password_hasher = PasswordHasher.from_settings(settings)
    state.password_check = CurrentPasswordCheck(
        state.password_hasher, state.rate_limiter, rule=settings.rate_limit_login_email
    )
    resources = job_resources(
        settings,
        state.job_registry,
        metrics=state.metrics,
        hasher=state.password_hasher,
        limiter=state.rate_limiter,
    )
    if settings.uses_default_secret_key:
        logger.warning(
            "default_secret_key",
            detail="SECRET_KEY is the public development default: anyone can forge pagination "
            "cursors. Set it before exposing this server.",
        )
    # What exists now (modules, mappers, schemas, routes) lives as long as the process: out of
    # the collector's generations, full collections no longer walk it while requests wait.
    gc.collect()
    gc.freeze()
    try:
        async with (
            running_auth_cache(settings, redis, state.metrics) as revocations,
            embedded_worker(
                engine,
                state.sessionmaker,
                state.job_registry,
                settings,
                state.job_metrics,
                resources,
            ) as jobs,
        ):
            state.revocations = revocations
            state.jobs_worker = jobs
            state.after_commit = {}
            if jobs is not None:
                state.after_commit[WAKE_JOBS] = jobs.woken
            if revocations is not None:
                state.after_commit[REVOKE] = revocations.revoke
            yield
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()


def operation_id(route: APIRoute) -> str:
    """OpenAPI operation ids are the handler names (`list_items`), for clean generated clients."""
    return route.name


def telemetry(settings: Settings) -> TelemetryConfig:
    """FastAPI's OpenTelemetry, or none: when on, FastAPI looks up the global providers on
    every request, which costs 5 % of an authenticated GET even with no SDK installed."""
    if settings.otel_enabled:
        return {}
    return {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    options: dict[str, Any] = {
        "title": settings.app_name,
        "version": "0.1.0",
        "lifespan": lifespan,
        "generate_unique_id_function": operation_id,
        "telemetry": telemetry(settings),
    }
    # Like `FastAPI(...)`, but /docs and /redoc load their scripts from the app, not a CDN.
    app = (
        FastAPIOffline(**options)
        if settings.serves_docs
        else FastAPI(**options, docs_url=None, redoc_url=None, openapi_url=None)
    )
    state = AppState()
    app.state = state
    state.settings = settings
    state.clock = utcnow
    state.after_commit = {}
    state.bearer_kinds = (
        BearerKind(KEY_PREFIX, authenticate_api_key),
        BearerKind(ORG_KEY_PREFIX, authenticate_org_api_key),
    )
    state.oauth_providers = ProviderRegistry(settings)
    state.cursor_codec = CursorCodec(settings.secret_key.get_secret_value())
    state.metrics = Metrics(lambda: getattr(state, "engine", None) and state.engine.pool)
    state.job_registry = job_registry(settings)
    state.job_metrics = JobMetrics(state.metrics)
    register_exception_handlers(app)
    app.include_router(ops_router)
    include_api(app)
    include_pages(app)
    include_console(app)
    _add_middleware(app, settings)
    install_openapi(app)
    return app


# Never queued behind traffic: a busy instance is alive, and says itself whether it is ready.
PROBES = ("/health/live", "/health/ready")


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    # Added innermost first: CORS wraps everything, so error responses carry its headers too.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout=settings.http_body_timeout,
    )
    if settings.max_concurrent_requests:
        # Outside the body limit: time spent waiting for a slot is not the body's time.
        app.add_middleware(
            AdmissionMiddleware,
            limit=settings.max_concurrent_requests,
            queue_timeout=settings.request_queue_timeout,
            retry_after=settings.retry_after_seconds,
            metrics=cast(AppState, app.state).metrics,
            exempt=PROBES,
        )
    if "*" not in settings.allowed_hosts:
        app.add_middleware(AllowedHostsMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(
        AccessLogMiddleware,
        metrics=cast(AppState, app.state).metrics,
        retry_after=settings.retry_after_seconds,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name="X-Request-ID",
        generator=new_request_id,
        validator=is_valid_uuid,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "ETag", "Location", "Retry-After"],
        )
