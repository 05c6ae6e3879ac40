"""Liveness, readiness and metrics."""

import gc
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from app.core.config import Settings
from app.main import create_app
from tests.conftest import LogCapture, http_client, running_app


class TestHealth:
    async def test_live_is_200(self, client: AsyncClient) -> None:
        response = await client.get("/health/live")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_ready_checks_the_database(self, client: AsyncClient) -> None:
        response = await client.get("/health/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


class TestHead:
    """Probes and uptime checkers use HEAD: every GET route answers it, without a body."""

    @pytest.mark.parametrize("path", ["/health/live", "/health/ready"])
    async def test_health_answers_head_like_get_without_a_body(
        self, client: AsyncClient, path: str
    ) -> None:
        get = await client.get(path)

        head = await client.head(path)

        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["content-length"] == get.headers["content-length"]

    async def test_is_logged_as_head(self, client: AsyncClient, logs: LogCapture) -> None:
        await client.head("/health/live")

        lines = [line for line in logs.records() if line["event"] == "request"]
        assert [(line["method"], line["route"]) for line in lines] == [("HEAD", "/health/live")]

    async def test_a_path_without_get_is_405_and_allow_names_head_with_get(
        self, client: AsyncClient
    ) -> None:
        without_get = await client.head("/api/v1/auth/login")
        with_get = await client.delete("/health/live")

        assert without_get.status_code == 405
        assert without_get.headers["allow"] == "POST"
        assert with_get.headers["allow"] == "GET, HEAD"


class TestReadinessWithRedis:
    @pytest.fixture
    async def redis_client(self, request: pytest.FixtureRequest) -> AsyncIterator[AsyncClient]:
        settings: Settings = request.getfixturevalue("settings")
        configured = settings.model_copy(update={"redis_url": request.param})
        async with running_app(configured) as application, http_client(application) as client:
            yield client

    @pytest.mark.parametrize("redis_client", ["redis://127.0.0.1:6379/15"], indirect=True)
    async def test_ready_pings_redis(self, redis_client: AsyncClient) -> None:
        response = await redis_client.get("/health/ready")

        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok", "redis": "ok"}

    @pytest.mark.parametrize("redis_client", ["redis://127.0.0.1:1/0"], indirect=True)
    async def test_ready_is_503_when_redis_is_down(self, redis_client: AsyncClient) -> None:
        response = await redis_client.get("/health/ready")

        assert response.status_code == 503
        assert response.json()["detail"] == "Not ready: redis unavailable"
        assert response.headers["Retry-After"] == "5"


class TestMetrics:
    async def test_requests_are_counted_by_route_template_and_status(
        self, notes_client: AsyncClient
    ) -> None:
        await notes_client.get("/test-notes/00000000-0000-0000-0000-000000000000")
        await notes_client.get("/no-such-route")

        text = (await notes_client.get("/metrics")).text

        assert (
            'http_requests_total{method="GET",route="/test-notes/{note_id}",status="404"} 1.0'
            in text
        )
        assert 'http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in text
        assert "http_request_duration_seconds_bucket" in text

    async def test_a_mounted_app_is_counted_by_its_mount_point(self, client: AsyncClient) -> None:
        await client.get("/static-offline-docs/swagger-ui.css")
        await client.get("/static-offline-docs/no-such-file-1")

        text = (await client.get("/metrics")).text

        assert 'route="/static-offline-docs/{path}",status="200"' in text
        assert 'route="/static-offline-docs/{path}",status="404"' in text
        assert "no-such-file" not in text

    async def test_pool_gauges_are_exported(self, client: AsyncClient, app: FastAPI) -> None:
        response = await client.get("/metrics")

        assert response.headers["Content-Type"].startswith("text/plain")
        # 5 as configured on PostgreSQL; SQLite always gets one connection (see core/db.py).
        assert f"db_pool_size {float(app.state.engine.pool.size())}" in response.text
        assert "db_pool_checked_out" in response.text

    def test_workers_share_their_counts(self, tmp_path: Path) -> None:
        """With `PROMETHEUS_MULTIPROC_DIR` (set by `serve --workers N`), a scrape answered by
        one worker process reports the requests every worker served."""
        for requests in (3, 2):
            scrape = self.worker(tmp_path, requests)

        assert 'http_requests_total{method="GET",route="/x",status="200"} 5.0' in scrape

    @staticmethod
    def worker(directory: Path, requests: int) -> str:
        script = (
            "from app.core.metrics import Metrics\n"
            "metrics = Metrics(lambda: None)\n"
            f"for _ in range({requests}): metrics.observe('GET', '/x', 200, 0.01)\n"
            "print(metrics.render().decode())\n"
        )
        environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
        return subprocess.run(
            [sys.executable, "-c", script],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout


@asynccontextmanager
async def client_with(settings: Settings, **changes: object) -> AsyncIterator[AsyncClient]:
    configured = settings.model_copy(update=changes)
    async with running_app(configured) as application, http_client(application) as client:
        yield client


class TestOperatorEndpoints:
    """`/metrics` and the API documents answer anyone in development; production keeps them
    closed unless configured."""

    PRIVATE = ("/metrics", "/docs", "/redoc", "/openapi.json")

    async def test_production_closes_them_by_default(self, settings: Settings) -> None:
        async with client_with(settings, environment="production") as client:
            answers = {path: (await client.get(path)).status_code for path in self.PRIVATE}
            live = await client.get("/health/live")

        assert answers == dict.fromkeys(self.PRIVATE, 404)
        assert live.status_code == 200

    async def test_docs_can_be_turned_on_in_production(self, settings: Settings) -> None:
        async with client_with(settings, environment="production", docs_enabled=True) as client:
            docs = await client.get("/docs")
            document = await client.get("/openapi.json")

        assert (docs.status_code, document.status_code) == (200, 200)

    async def test_docs_can_be_turned_off_in_development(self, settings: Settings) -> None:
        async with client_with(settings, docs_enabled=False) as client:
            answers = [(await client.get(path)).status_code for path in self.PRIVATE[1:]]

        assert answers == [404, 404, 404]

    @pytest.mark.parametrize("environment", ["production", "development"])
    async def test_a_metrics_token_is_required_once_set(
        self, settings: Settings, environment: str
    ) -> None:
        token = SecretStr("scrape-secret-1")
        async with client_with(settings, environment=environment, metrics_token=token) as client:
            anonymous = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            scraper = await client.get(
                "/metrics", headers={"Authorization": "Bearer scrape-secret-1"}
            )

        assert (anonymous.status_code, wrong.status_code) == (401, 401)
        assert anonymous.json()["error_code"] == "UNAUTHORIZED"
        assert scraper.status_code == 200
        assert "http_requests_total" in scraper.text


async def startup_log(settings: Settings) -> list[str]:
    """The lines an app logs while it starts and stops."""
    application = create_app(settings)
    root = logging.getLogger()
    capture = LogCapture(root.handlers[0].formatter)
    root.addHandler(capture)
    try:
        async with application.router.lifespan_context(application):
            pass
    finally:
        root.removeHandler(capture)
    return capture.lines


class TestStartupWarnings:
    async def test_the_default_secret_key_is_announced(self, settings: Settings) -> None:
        lines = [orjson.loads(line) for line in await startup_log(settings)]

        warnings = [line["event"] for line in lines if line["level"] == "warning"]
        assert warnings == ["default_secret_key"]

    async def test_a_configured_secret_key_is_not(self, settings: Settings) -> None:
        configured = settings.model_copy(update={"secret_key": SecretStr("x" * 48)})

        assert "default_secret_key" not in "\n".join(await startup_log(configured))


class TestTelemetry:
    """`OTEL_ENABLED` turns FastAPI's native OpenTelemetry on; off, no span is ever started."""

    @pytest.fixture
    def spans(self, monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        # What an SDK set up at startup would have registered as the global provider.
        monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
        return exporter

    @pytest.mark.parametrize("enabled", [True, False])
    async def test_spans_only_when_enabled(
        self, settings: Settings, spans: InMemorySpanExporter, enabled: bool
    ) -> None:
        configured = settings.model_copy(update={"otel_enabled": enabled})
        async with running_app(configured) as application, http_client(application) as client:
            response = await client.get("/health/live")

        assert response.status_code == 200
        names = {span.name for span in spans.get_finished_spans()}
        assert ("GET /health/live" in names) is enabled
        assert bool(names) is enabled


async def test_startup_objects_are_kept_out_of_garbage_collection(settings: Settings) -> None:
    """Full collections walked every long-lived object while requests waited: freezing them at
    startup took p99 of GET /users/me from ~150 ms to ~40 ms at 32 clients."""
    gc.unfreeze()

    async with running_app(settings):
        assert gc.get_freeze_count() > 0
