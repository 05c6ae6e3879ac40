"""Every error path answers the envelope, with the request id."""

import logging
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
from fastapi import FastAPI, Request
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.db import create_engine
from app.core.handlers import handle_database_error
from tests.assertions import assert_error
from tests.conftest import LogCapture, http_client, on_sqlite, running_app
from tests.core import notes


def stub_request(application: FastAPI) -> Request:
    return Request({"type": "http", "app": application, "headers": [], "method": "POST"})


ENVELOPE_KEYS = {"detail", "error_code", "correlation_id", "timestamp"}


def assert_envelope(response_json: dict[str, object], request_id: str, code: str) -> None:
    assert response_json.keys() >= ENVELOPE_KEYS
    assert response_json["error_code"] == code
    assert response_json["correlation_id"] == request_id
    assert str(response_json["timestamp"]).endswith("Z")


class TestStarletteErrors:
    async def test_unknown_route_is_404_envelope(self, client: AsyncClient) -> None:
        response = await client.get("/api/v1/nothing-here")

        assert response.status_code == 404
        assert_envelope(response.json(), response.headers["X-Request-ID"], "NOT_FOUND")
        assert "errors" not in response.json()

    async def test_wrong_method_is_405_envelope_with_allow(self, client: AsyncClient) -> None:
        response = await client.delete("/health/live")

        assert response.status_code == 405
        assert_envelope(response.json(), response.headers["X-Request-ID"], "METHOD_NOT_ALLOWED")
        assert response.headers["Allow"] == "GET, HEAD"

    async def test_allow_lists_every_method_of_the_path(self, client: AsyncClient) -> None:
        response = await client.request("OPTIONS", "/api/v1/users/me")

        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, HEAD, PATCH"


class TestValidationErrors:
    async def test_malformed_json_is_422_with_errors(self, notes_client: AsyncClient) -> None:
        response = await notes_client.post(
            "/test-notes", content=b'{"title": ', headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 422
        body = response.json()
        assert_envelope(body, response.headers["X-Request-ID"], "VALIDATION_ERROR")
        assert body["errors"][0]["type"] == "json_invalid"

    async def test_missing_field_names_its_location(self, notes_client: AsyncClient) -> None:
        response = await notes_client.post("/test-notes", json={})

        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"loc": ["body", "title"], "msg": "Field required", "type": "missing"}
        ]

    async def test_unknown_field_is_refused(self, notes_client: AsyncClient) -> None:
        response = await notes_client.post("/test-notes", json={"title": "a", "version": 9})

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "version"]
        assert response.json()["errors"][0]["type"] == "extra_forbidden"

    async def test_bad_path_parameter_is_422(self, notes_client: AsyncClient) -> None:
        response = await notes_client.get("/test-notes/not-a-uuid")

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["path", "note_id"]


class TestDomainErrors:
    async def test_not_found_error_is_404(self, notes_client: AsyncClient) -> None:
        response = await notes_client.get(f"/test-notes/{uuid.uuid4()}")

        assert response.status_code == 404
        assert response.json()["detail"] == "Note not found"
        assert response.json()["error_code"] == "NOT_FOUND"

    async def test_unique_violation_is_409_already_exists(self, notes_client: AsyncClient) -> None:
        first = await notes_client.post("/test-notes", json={"title": "a", "code": "x"})
        second = await notes_client.post("/test-notes", json={"title": "b", "code": "x"})

        assert first.status_code == 201
        assert_error(second, 409, "ALREADY_EXISTS")
        assert second.json()["detail"] == "Note code already taken"


class TestUnhandledErrors:
    async def test_unhandled_exception_is_500_without_internals(
        self, notes_client: AsyncClient, logs: LogCapture
    ) -> None:
        response = await notes_client.post("/test-notes/then-fail", json={"title": "a"})

        assert response.status_code == 500
        request_id = response.headers["X-Request-ID"]
        assert_envelope(response.json(), request_id, "INTERNAL_ERROR")
        assert "boom" not in response.text
        assert "SELECT" not in response.text
        logged = [r for r in logs.records() if r["event"] == "unhandled_error"]
        assert logged[0]["request_id"] == request_id
        assert "RuntimeError: boom" in str(logged[0]["exception"])


class TestStatementValuesInLogs:
    """What a failed statement carries (its parameters, and the row the server quotes back)
    reaches the log in development only: in production it could be personal data or secrets."""

    @pytest.fixture(autouse=True)
    def migrated(self, engine: AsyncEngine) -> None:
        """The suite's database, with its tables."""

    @staticmethod
    async def failed_insert(settings: Settings) -> DBAPIError:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                with pytest.raises(DBAPIError) as raised:
                    # NOT NULL columns left empty: refused, with the value in the parameters.
                    await connection.execute(
                        text("INSERT INTO users (full_name) VALUES (:name)"),
                        {"name": "private-value-42"},
                    )
        finally:
            await engine.dispose()
        return raised.value

    @pytest.mark.parametrize(("environment", "shown"), [("production", False), ("test", True)])
    async def test_the_engine_hides_parameters_in_production(
        self, settings: Settings, environment: str, shown: bool
    ) -> None:
        error = await self.failed_insert(settings.model_copy(update={"environment": environment}))

        assert ("[parameters:" in str(error)) is shown
        assert "INSERT INTO users" in str(error)

    @pytest.mark.parametrize(("environment", "shown"), [("production", False), ("test", True)])
    async def test_the_logged_error_carries_no_value_in_production(
        self, settings: Settings, environment: str, shown: bool
    ) -> None:
        configured = settings.model_copy(update={"environment": environment})
        error = await self.failed_insert(configured)
        async with running_app(configured) as application:
            root = logging.getLogger()
            capture = LogCapture(root.handlers[0].formatter)
            root.addHandler(capture)
            try:
                response = await handle_database_error(stub_request(application), error)
            finally:
                root.removeHandler(capture)

        (logged,) = [line for line in capture.records() if line["event"] == "database_error"]
        assert response.status_code == 500
        assert ("private-value-42" in orjson.dumps(logged).decode()) is shown
        assert "INSERT INTO users" in orjson.dumps(logged).decode()


class TestDatabaseUnavailable:
    @pytest.fixture
    async def down_client(self, settings: Settings) -> AsyncIterator[AsyncClient]:
        # Nothing can be opened there: every connection attempt fails at once.
        url = (
            "sqlite+aiosqlite:////proc/no-such-dir/x.db"
            if on_sqlite(settings)
            else "postgresql+asyncpg://root@127.0.0.1:1/test"
        )
        async with running_app(settings.model_copy(update={"database_url": url})) as application:
            application.include_router(notes.router)
            async with http_client(application) as client:
                yield client

    async def test_query_is_503_with_retry_after(self, down_client: AsyncClient) -> None:
        response = await down_client.get(f"/test-notes/{uuid.uuid4()}")

        assert_error(response, 503, "SERVICE_UNAVAILABLE")
        assert response.json()["detail"] == "Database unavailable"
        assert response.headers["Retry-After"] == "5"

    async def test_readiness_is_503_and_liveness_200(self, down_client: AsyncClient) -> None:
        live = await down_client.get("/health/live")
        ready = await down_client.get("/health/ready")

        assert live.status_code == 200
        assert_error(ready, 503, "SERVICE_UNAVAILABLE")
        assert ready.json()["detail"] == "Not ready: database unavailable"
        assert ready.headers["Retry-After"] == "5"


class TestOpenAPI:
    async def test_validation_errors_are_documented_with_the_envelope(
        self, notes_client: AsyncClient
    ) -> None:
        schema = (await notes_client.get("/openapi.json")).json()

        assert "HTTPValidationError" not in schema["components"]["schemas"]
        assert "ErrorBody" in schema["components"]["schemas"]

    async def test_ready_documents_503(self, client: AsyncClient) -> None:
        schema = (await client.get("/openapi.json")).json()

        responses = schema["paths"]["/health/ready"]["get"]["responses"]
        assert responses["503"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }
