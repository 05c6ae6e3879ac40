"""Request ids, body size limit, access log and CORS."""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import structlog
from fastapi import APIRouter, FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.core.config import Settings
from tests.assertions import assert_error
from tests.conftest import LogCapture, http_client, running_app
from tests.core import notes


class TestRequestId:
    async def test_valid_caller_id_is_echoed(self, client: AsyncClient) -> None:
        request_id = str(uuid.uuid4())

        response = await client.get("/health/live", headers={"X-Request-ID": request_id})

        assert response.headers["X-Request-ID"] == request_id

    async def test_invalid_caller_id_is_replaced_by_a_uuid4(self, client: AsyncClient) -> None:
        response = await client.get("/health/live", headers={"X-Request-ID": "not-a-uuid\n"})

        generated = response.headers["X-Request-ID"]
        assert generated != "not-a-uuid"
        assert uuid.UUID(generated).version == 4

    async def test_missing_id_is_generated_per_request(self, client: AsyncClient) -> None:
        first = await client.get("/health/live")
        second = await client.get("/health/live")

        assert uuid.UUID(first.headers["X-Request-ID"]).version == 4
        assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]

    async def test_error_envelope_carries_the_same_id(self, client: AsyncClient) -> None:
        request_id = str(uuid.uuid4())

        response = await client.get("/nope", headers={"X-Request-ID": request_id})

        assert response.json()["correlation_id"] == request_id


class TestAccessLog:
    async def test_one_line_per_request_with_route_template_and_id(
        self, notes_client: AsyncClient, logs: LogCapture
    ) -> None:
        note_id = uuid.uuid4()

        response = await notes_client.get(f"/test-notes/{note_id}")

        access = [r for r in logs.records() if r["logger"] == "app.access"]
        assert len(access) == 1
        line = access[0]
        assert line["request_id"] == response.headers["X-Request-ID"]
        assert line["method"] == "GET"
        assert line["route"] == "/test-notes/{note_id}"
        assert line["status"] == 404
        assert isinstance(line["duration_ms"], float)

    async def test_every_line_of_a_request_has_its_id(
        self, notes_client: AsyncClient, logs: LogCapture
    ) -> None:
        response = await notes_client.post("/test-notes/then-fail", json={"title": "x"})

        request_id = response.headers["X-Request-ID"]
        app_lines = [r for r in logs.records() if str(r["logger"]).startswith("app")]
        assert len(app_lines) >= 2
        assert {line["request_id"] for line in app_lines} == {request_id}

    async def test_secret_looking_fields_are_redacted(self, app: FastAPI, logs: LogCapture) -> None:
        structlog.get_logger("app.test").info("login", password="hunter22", token="abc123")

        assert "hunter22" not in "".join(logs.lines)
        assert "abc123" not in "".join(logs.lines)

    async def test_console_tracebacks_show_no_local_variables(
        self,
        settings: Settings,
        connection: AsyncConnection,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await notes.create_tables(connection)
        console = settings.model_copy(update={"log_format": "console"})
        async with running_app(console, sessionmaker=sessionmaker) as application:
            application.include_router(notes.router)
            root = logging.getLogger()
            capture = LogCapture(root.handlers[0].formatter)
            root.addHandler(capture)
            try:
                async with http_client(application) as client:
                    await client.post("/test-notes/then-fail", json={"title": "local-secret-42"})
            finally:
                root.removeHandler(capture)

        text = "\n".join(capture.lines)
        assert "RuntimeError: boom" in text
        assert "local-secret-42" not in text


class TestLogInjection:
    @pytest.mark.parametrize("log_format", ["console", "json"])
    async def test_control_characters_in_a_path_are_escaped(
        self, settings: Settings, log_format: str
    ) -> None:
        configured = settings.model_copy(update={"log_format": log_format})
        async with running_app(configured) as application, http_client(application) as client:
            root = logging.getLogger()
            capture = LogCapture(root.handlers[0].formatter)
            root.addHandler(capture)
            try:
                await client.get("/api/v1/items/%1b%5b31mRED%e2%80%ae%c2%9b")
                structlog.get_logger("app.test").warning("multi\nline", note="\r\x07")
            finally:
                root.removeHandler(capture)

        text = "\n".join(capture.lines)
        raw = [char for char in text if char in "\x1b\x07\r\u202e\x9b"]
        assert raw == []
        assert len(capture.lines) == 2
        assert "\\x1b[31mRED\\u202e\\x9b" in text.replace("\\\\", "\\")


class TestBodySizeLimit:
    @pytest.fixture
    async def small_client(self, settings: Settings) -> AsyncIterator[AsyncClient]:
        async with (
            running_app(settings.model_copy(update={"max_body_bytes": 64})) as application,
            http_client(application) as client,
        ):
            yield client

    async def test_declared_length_over_limit_is_413_before_routing(
        self, small_client: AsyncClient
    ) -> None:
        response = await small_client.post("/api/v1/anything", content=b"x" * 65)

        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert response.json()["correlation_id"] == response.headers["X-Request-ID"]

    async def test_streamed_body_over_limit_is_413(self, settings: Settings) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b'{"title": "' + b"y" * 20

        async with running_app(settings.model_copy(update={"max_body_bytes": 64})) as application:
            application.include_router(notes.router)
            async with http_client(application) as client:
                response = await client.post(
                    "/test-notes", content=chunks(), headers={"Content-Type": "application/json"}
                )

        assert_error(response, 413, "PAYLOAD_TOO_LARGE")

    async def test_body_at_the_limit_is_accepted(self, small_client: AsyncClient) -> None:
        response = await small_client.post("/api/v1/anything", content=b"x" * 64)

        assert response.status_code == 404


class TestAdmission:
    """MAX_CONCURRENT_REQUESTS=1: one request holds the only slot until the test lets it go."""

    @pytest.fixture
    async def busy(self, settings: Settings) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
        limited = {"max_concurrent_requests": 1, "request_queue_timeout": 0.2}
        async with running_app(settings.model_copy(update=limited)) as application:
            application.include_router(_slow_router(application))
            async with http_client(application) as client:
                yield application, client

    async def test_a_request_waiting_past_the_queue_timeout_is_503_with_retry_after(
        self, busy: tuple[FastAPI, AsyncClient]
    ) -> None:
        application, client = busy
        holder = asyncio.create_task(client.get("/test-slow"))
        await application.state.test_entered.wait()

        started = time.monotonic()
        shed = await client.get("/api/v1/users/me")
        waited = time.monotonic() - started
        probe = await client.get("/health/live")
        application.state.test_release.set()

        body = assert_error(shed, 503, "SERVICE_UNAVAILABLE")
        assert "busy" in body["detail"]
        assert shed.headers["Retry-After"] == "5"
        assert 0.2 <= waited < 1.0
        assert probe.status_code == 200
        assert (await holder).status_code == 200
        assert b"http_requests_shed_total 1.0" in application.state.metrics.render()

    async def test_a_request_queued_for_less_than_the_timeout_is_served(
        self, busy: tuple[FastAPI, AsyncClient]
    ) -> None:
        application, client = busy
        holder = asyncio.create_task(client.get("/test-slow"))
        await application.state.test_entered.wait()

        probe = asyncio.create_task(client.get("/health/ready"))
        waiting = asyncio.create_task(client.get("/api/v1/users/me"))
        await asyncio.sleep(0.05)
        application.state.test_release.set()

        assert (await holder).status_code == 200
        assert (await probe).status_code == 200
        assert_error(await waiting, 401, "UNAUTHORIZED")


def _slow_router(application: FastAPI) -> APIRouter:
    router = APIRouter()
    application.state.test_entered = asyncio.Event()
    application.state.test_release = asyncio.Event()

    @router.get("/test-slow")
    async def slow() -> dict[str, bool]:
        application.state.test_entered.set()
        await application.state.test_release.wait()
        return {"done": True}

    return router


class TestCors:
    @pytest.fixture
    async def cors_client(self, settings: Settings) -> AsyncIterator[AsyncClient]:
        configured = settings.model_copy(update={"cors_origins": ["https://app.example"]})
        async with running_app(configured) as application, http_client(application) as client:
            yield client

    async def test_configured_origin_is_allowed(self, cors_client: AsyncClient) -> None:
        response = await cors_client.get("/health/live", headers={"Origin": "https://app.example"})

        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]

    async def test_other_origin_gets_no_cors_headers(self, cors_client: AsyncClient) -> None:
        response = await cors_client.get("/health/live", headers={"Origin": "https://evil.example"})

        assert "Access-Control-Allow-Origin" not in response.headers

    async def test_no_origins_configured_means_no_cors(self, client: AsyncClient) -> None:
        response = await client.get("/health/live", headers={"Origin": "https://app.example"})

        assert "Access-Control-Allow-Origin" not in response.headers


class TestSecurityHeaders:
    @pytest.mark.parametrize("path", ["/health/live", "/nope", "/api/v1/users/me", "/openapi.json"])
    async def test_nosniff_everywhere(self, client: AsyncClient, path: str) -> None:
        response = await client.get(path)

        assert response.headers["X-Content-Type-Options"] == "nosniff"

    @pytest.mark.parametrize("path", ["/api/v1/users/me", "/api/v1/nope"])
    async def test_api_answers_are_not_stored(self, client: AsyncClient, path: str) -> None:
        response = await client.get(path)

        assert response.headers["Cache-Control"] == "no-store"

    async def test_unhandled_error_carries_them_too(self, notes_client: AsyncClient) -> None:
        response = await notes_client.post("/test-notes/then-fail", json={"title": "x"})

        assert response.status_code == 500
        assert response.headers["X-Content-Type-Options"] == "nosniff"


class TestAllowedHosts:
    @pytest.fixture
    async def hosts_client(self, settings: Settings) -> AsyncIterator[AsyncClient]:
        configured = settings.model_copy(
            update={"allowed_hosts": ["api.example.com", "*.internal.example"]}
        )
        async with running_app(configured) as application, http_client(application) as client:
            yield client

    @pytest.mark.parametrize(
        "host", ["api.example.com", "API.example.com:8443", "a.internal.example"]
    )
    async def test_a_listed_host_is_served(self, hosts_client: AsyncClient, host: str) -> None:
        response = await hosts_client.get("/health/live", headers={"Host": host})

        assert response.status_code == 200

    @pytest.mark.parametrize("host", ["evil.example", "api.example.com.evil.example", ""])
    async def test_another_host_is_400_in_the_envelope(
        self, hosts_client: AsyncClient, host: str
    ) -> None:
        response = await hosts_client.get("/health/live", headers={"Host": host})

        assert_error(response, 400, "BAD_REQUEST")
        assert response.json()["correlation_id"] == response.headers["X-Request-ID"]

    def test_the_setting_is_comma_separated(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ALLOWED_HOSTS", "api.example.com, *.example.org")

        allowed = Settings(_env_file=None).allowed_hosts

        assert allowed == ["api.example.com", "*.example.org"]
