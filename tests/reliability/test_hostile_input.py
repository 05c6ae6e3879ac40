"""Inputs that crash drivers or slip past lax parsing answer 4xx in the envelope, and the
OpenAPI document says what is refused (schemathesis relies on it)."""

import re

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.openapi import NO_NUL_PATTERN
from tests.assertions import assert_error
from tests.users.factories import SignedIn, signed_in

ITEMS = "/api/v1/items"


@pytest.fixture
async def owner(client: AsyncClient, session: AsyncSession) -> SignedIn:
    return await signed_in(client, session)


def assert_validation_error(response_json: dict[str, object], loc: list[object]) -> None:
    assert response_json["error_code"] == "VALIDATION_ERROR"
    assert loc in [error["loc"] for error in response_json["errors"]]  # type: ignore[attr-defined]


class TestNulCharacter:
    """PostgreSQL cannot store U+0000 in text; without validation it was a 500 there."""

    async def test_in_a_body_string_is_422(self, client: AsyncClient, owner: SignedIn) -> None:
        response = await client.post(ITEMS, json={"title": "a\x00b"}, headers=owner[1])

        assert response.status_code == 422
        assert_validation_error(response.json(), ["body", "title"])

    async def test_in_a_nested_body_string_is_422(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        body = {"items": [{"title": "fine"}, {"title": "not\x00fine"}]}

        response = await client.post(f"{ITEMS}/bulk", json=body, headers=owner[1])

        assert response.status_code == 422

    async def test_in_a_query_filter_is_422(self, client: AsyncClient, owner: SignedIn) -> None:
        response = await client.get(ITEMS, params={"search": "a\x00b"}, headers=owner[1])

        assert_error(response, 422, "VALIDATION_ERROR")

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("/api/v1/auth/login", {"email": "a\x00@example.com", "password": "some password"}),
            ("/api/v1/auth/register", {"email": "a@example.com", "password": "pass\x00word"}),
        ],
    )
    async def test_in_credentials_is_422(
        self, client: AsyncClient, path: str, body: dict[str, str]
    ) -> None:
        response = await client.post(path, json=body)

        assert response.status_code == 422

    async def test_in_the_oauth2_form_is_a_client_error(self, client: AsyncClient) -> None:
        form = {"username": "a\x00@example.com", "password": "some password"}

        response = await client.post("/api/v1/auth/token", data=form)

        assert response.status_code in {401, 422}

    async def test_openapi_documents_the_refusal(self, app: FastAPI) -> None:
        schema = app.openapi()
        item_create = schema["components"]["schemas"]["ItemCreate"]["properties"]["title"]
        search = next(
            parameter
            for parameter in schema["paths"][ITEMS]["get"]["parameters"]
            if parameter["name"] == "search"
        )

        assert item_create["pattern"] == NO_NUL_PATTERN
        assert search["schema"]["anyOf"][0]["pattern"] == NO_NUL_PATTERN
        assert re.fullmatch(NO_NUL_PATTERN.replace("\\u0000", "\\x00"), "a\x00b") is None


class TestNumbersAndInstants:
    @pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-01-05T12:00:00"])
    async def test_a_filter_instant_must_be_iso_8601_with_an_offset(
        self, client: AsyncClient, owner: SignedIn, value: str
    ) -> None:
        response = await client.get(ITEMS, params={"created_at__lt": value}, headers=owner[1])

        assert response.status_code == 422

    @pytest.mark.parametrize(
        "params",
        [
            {"created_at__lt": "0001-01-01T00:00:00+14:00"},
            {"created_at__gte": "9999-12-31T23:59:59-01:00"},
        ],
    )
    async def test_an_instant_outside_the_utc_range_is_422(
        self, client: AsyncClient, owner: SignedIn, params: dict[str, str]
    ) -> None:
        response = await client.get(ITEMS, params=params, headers=owner[1])

        assert response.status_code == 422
        assert_validation_error(response.json(), ["query", next(iter(params))])

    @pytest.mark.parametrize(
        "params",
        [{"offset": str(2**64)}, {"limit": "1000000"}, {"offset": "-1"}, {"limit": "0"}],
    )
    async def test_out_of_range_paging_is_422(
        self, client: AsyncClient, owner: SignedIn, params: dict[str, str]
    ) -> None:
        response = await client.get(ITEMS, params=params, headers=owner[1])

        assert response.status_code == 422


class TestPaths:
    async def test_unsupported_method_on_a_static_sibling_of_an_id_path_is_405(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        response = await client.patch(f"{ITEMS}/bulk", json={}, headers=owner[1])

        assert response.status_code == 405
        assert response.headers["allow"] == "POST"

    async def test_an_id_that_is_not_a_uuid_names_no_resource(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        response = await client.get(f"{ITEMS}/not-a-uuid", headers=owner[1])

        assert response.status_code == 404


class TestEmail:
    @pytest.mark.parametrize("email", ["someone@host.test", "someone@printer.local"])
    async def test_special_use_domains_are_refused_and_documented(
        self, client: AsyncClient, app: FastAPI, email: str
    ) -> None:
        response = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": "long enough"}
        )
        schema = app.openapi()["components"]["schemas"]["UserCreate"]["properties"]["email"]

        assert response.status_code == 422
        assert re.search(schema["pattern"], email) is None
        assert re.search(schema["pattern"], "someone@example.com")
