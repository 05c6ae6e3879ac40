"""Identities: linking a provider account to a signed-in user (explicitly, in their browser),
listing and unlinking them, never the last way to sign in; a provider that is down."""

import asyncio
import time
from urllib.parse import urlsplit

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import OAuthProviderSettings, Settings
from tests.assertions import assert_error
from tests.conftest import http_client, running_app
from tests.oauth.flows import AUTHORIZE, RESULT_PAGE, bearer_for, error_of, open_callback, sign_in
from tests.oauth.provider import CALLBACK, PUBLIC_URL, sign_in_at_provider
from tests.oauth.test_sign_in import new_login
from tests.users.factories import bearer, create_user, login

IDENTITIES = "/api/v1/users/me/identities"


async def link(client: AsyncClient, headers: dict[str, str], login_name: str) -> str:
    """Link `login_name`'s provider account to the signed-in user: where the browser lands."""
    started = await client.post("/api/v1/auth/oauth/test/link", headers=headers, json={})
    assert started.status_code == 200, started.text
    authorize = urlsplit(started.json()["authorize_url"])
    assert authorize.geturl().startswith(f"{PUBLIC_URL}/api/v1/auth/oauth/test/authorize?")
    redirected = await client.get(f"{authorize.path}?{authorize.query}")
    assert redirected.status_code == 302, redirected.text
    back = await sign_in_at_provider(redirected.headers["location"], login_name, back_to=CALLBACK)
    return await open_callback(client, back)


class TestLinking:
    async def test_a_signed_in_user_links_a_provider_account_with_another_address(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        headers = bearer(await login(client, user.email))
        other_address = new_login()

        landed = await link(client, headers, other_address)

        assert landed == f"{RESULT_PAGE}?linked=test"
        listed = (await client.get(IDENTITIES, headers=headers)).json()
        assert [each["email"] for each in listed] == [other_address]
        signed_in = await bearer_for(client, await sign_in(client, other_address))
        me = (await client.get("/api/v1/users/me", headers=signed_in)).json()
        assert me["id"] == str(user.id)

    async def test_an_account_linked_to_someone_else_is_refused(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        taken = new_login()
        await sign_in(client, taken)
        user = await create_user(session)
        headers = bearer(await login(client, user.email))

        landed = await link(client, headers, taken)

        assert error_of(landed) == "already_linked"
        assert (await client.get(IDENTITIES, headers=headers)).json() == []

    async def test_a_link_ticket_works_once(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        headers = bearer(await login(client, user.email))
        started = await client.post("/api/v1/auth/oauth/test/link", headers=headers)
        authorize = urlsplit(started.json()["authorize_url"])
        url = f"{authorize.path}?{authorize.query}"

        assert (await client.get(url)).status_code == 302
        assert_error(await client.get(url), 400, "INVALID_TOKEN")

    async def test_linking_needs_a_session(self, client: AsyncClient) -> None:
        assert_error(await client.post("/api/v1/auth/oauth/test/link"), 401, "UNAUTHORIZED")


class TestUnlinking:
    async def test_the_only_way_to_sign_in_stays(self, client: AsyncClient) -> None:
        headers = await bearer_for(client, await sign_in(client, new_login()))
        [identity] = (await client.get(IDENTITIES, headers=headers)).json()

        refused = await client.delete(f"{IDENTITIES}/{identity['id']}", headers=headers)

        assert_error(refused, 409, "CONFLICT")
        assert len((await client.get(IDENTITIES, headers=headers)).json()) == 1

    async def test_an_account_with_a_password_may_unlink(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        headers = bearer(await login(client, user.email))
        await link(client, headers, new_login())
        [identity] = (await client.get(IDENTITIES, headers=headers)).json()

        removed = await client.delete(f"{IDENTITIES}/{identity['id']}", headers=headers)

        assert removed.status_code == 204
        assert (await client.get(IDENTITIES, headers=headers)).json() == []

    async def test_someone_elses_identity_is_not_found(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        owner = await bearer_for(client, await sign_in(client, new_login()))
        [identity] = (await client.get(IDENTITIES, headers=owner)).json()
        other = await create_user(session)
        headers = bearer(await login(client, other.email))

        refused = await client.delete(f"{IDENTITIES}/{identity['id']}", headers=headers)

        assert_error(refused, 404, "NOT_FOUND")


@pytest.mark.parametrize("silent", [False, True], ids=["refusing connections", "silent"])
async def test_a_provider_that_is_down_or_slow_answers_503_in_bounded_time(
    settings: Settings, silent: bool
) -> None:
    # A server that accepts connections and never answers, or a port nothing listens on.
    server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1] if silent else 9
    provider = OAuthProviderSettings.model_validate(
        {
            "name": "down",
            "kind": "oidc",
            "issuer": f"http://127.0.0.1:{port}",
            "client_id": "app",
            "client_secret": "secret",
        }
    )
    down = settings.model_copy(update={"oauth_providers": [provider], "oauth_timeout": 0.5})
    async with running_app(down) as application, http_client(application) as client:
        started = time.monotonic()
        response = await client.get("/api/v1/auth/oauth/down/authorize")
        elapsed = time.monotonic() - started
    server.close()

    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response.headers["retry-after"]
    assert elapsed < 5


async def test_starting_sign_ins_is_limited_per_client(
    oauth_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    limited = oauth_settings.model_copy(update={"rate_limit_oauth_ip": "2/minute"})
    async with (
        running_app(limited, sessionmaker=sessionmaker) as application,
        http_client(application) as client,
    ):
        answers = [(await client.get(AUTHORIZE)).status_code for _ in range(3)]
        refused = await client.get(AUTHORIZE)

    assert answers == [302, 302, 429]
    assert_error(refused, 429, "RATE_LIMITED")
    assert refused.headers["retry-after"]


async def test_failed_sign_ins_count_against_the_login_limit(
    oauth_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    limited = oauth_settings.model_copy(update={"rate_limit_login_ip": "2/minute"})
    async with (
        running_app(limited, sessionmaker=sessionmaker) as application,
        http_client(application) as client,
    ):
        landings = [await open_callback(client, f"{CALLBACK}?state=wrong") for _ in range(3)]
        login = await client.post(
            "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever1"}
        )

    assert [error_of(landing) for landing in landings] == [
        "invalid_state",
        "invalid_state",
        "rate_limited",
    ]
    assert_error(login, 429, "RATE_LIMITED")
