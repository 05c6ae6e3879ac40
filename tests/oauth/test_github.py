"""The `github` kind, whose provider cannot run here: GitHub's token endpoint and API answered by
a stand-in behind the app's outgoing transport, as GitHub documents them (a code, then the
account and its addresses). What it proves is our side: PKCE and state sent, the primary
verified address taken, an unverified one refused."""

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx2
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import OAuthProviderSettings, Settings
from app.oauth.providers import OpenIDProvider, ProviderRegistry
from tests.conftest import http_client, running_app
from tests.oauth.flows import bearer_for, error_of
from tests.oauth.provider import PUBLIC_URL

CALLBACK = "/api/v1/auth/oauth/github/callback"
GOOD_CODE = "good-code"


class FakeGitHub:
    def __init__(self) -> None:
        self.email = f"octo-{uuid4().hex[:8]}@example.com"
        self.verified = True
        self.token_requests: list[dict[str, list[str]]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "github.com" and request.url.path == "/login/oauth/access_token":
            form = parse_qs(request.content.decode())
            self.token_requests.append(form)
            if form.get("code") != [GOOD_CODE]:
                return httpx2.Response(200, json={"error": "bad_verification_code"})
            return httpx2.Response(200, json={"access_token": "gho_test", "token_type": "bearer"})
        assert request.headers["authorization"] == "Bearer gho_test"
        if request.url.path == "/user":
            return httpx2.Response(200, json={"id": 583231, "login": "octo", "name": "Octo Cat"})
        if request.url.path == "/user/emails":
            listed = [
                {"email": "old@example.com", "primary": False, "verified": True},
                {"email": self.email, "primary": True, "verified": self.verified},
            ]
            return httpx2.Response(200, json=listed)
        return httpx2.Response(404)


@pytest.fixture
def github() -> FakeGitHub:
    return FakeGitHub()


@pytest.fixture
async def client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], github: FakeGitHub
) -> AsyncIterator[AsyncClient]:
    provider = OAuthProviderSettings(
        name="github", kind="github", client_id="gh-client", client_secret="gh-secret"
    )
    configured = settings.model_copy(
        update={"public_url": PUBLIC_URL, "oauth_providers": [provider]}
    )
    application: FastAPI
    async with running_app(configured, sessionmaker=sessionmaker) as application:
        transport = httpx2.MockTransport(github)
        application.state.oauth_providers = ProviderRegistry(configured, transport=transport)
        async with http_client(application) as client:
            yield client


async def authorize(client: AsyncClient) -> dict[str, list[str]]:
    started = await client.get("/api/v1/auth/oauth/github/authorize")
    assert started.status_code == 302, started.text
    location = urlsplit(started.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "https://github.com/login/oauth/authorize"
    )
    return parse_qs(location.query)


async def test_sign_in_with_the_primary_verified_address(
    client: AsyncClient, github: FakeGitHub
) -> None:
    query = await authorize(client)
    assert query["redirect_uri"] == [f"{PUBLIC_URL}{CALLBACK}"]
    assert query["scope"] == ["read:user user:email"]
    assert query["code_challenge_method"] == ["S256"]

    landed = await client.get(CALLBACK, params={"code": GOOD_CODE, "state": query["state"][0]})

    headers = await bearer_for(client, landed.headers["location"])
    me = (await client.get("/api/v1/users/me", headers=headers)).json()
    assert (me["email"], me["full_name"]) == (github.email, "Octo Cat")
    [sent] = github.token_requests
    assert sent["code_verifier"][0]
    identities = (await client.get("/api/v1/users/me/identities", headers=headers)).json()
    assert [each["provider"] for each in identities] == ["github"]


async def test_an_unverified_primary_address_is_refused(
    client: AsyncClient, github: FakeGitHub
) -> None:
    github.verified = False
    query = await authorize(client)

    landed = await client.get(CALLBACK, params={"code": GOOD_CODE, "state": query["state"][0]})

    assert error_of(landed.headers["location"]) == "email_not_verified"


async def test_a_code_github_refuses(client: AsyncClient) -> None:
    query = await authorize(client)

    landed = await client.get(CALLBACK, params={"code": "used", "state": query["state"][0]})

    assert error_of(landed.headers["location"]) == "invalid_response"


def test_google_is_openid_connect_at_accounts_google_com(settings: Settings) -> None:
    google = OAuthProviderSettings(
        name="google", kind="google", client_id="id", client_secret="secret"
    )
    registry = ProviderRegistry(settings.model_copy(update={"oauth_providers": [google]}))

    provider = registry.get("google")

    assert provider is not None
    assert provider.display_name == "Google"
    assert isinstance(provider, OpenIDProvider)
    assert provider.issuer == "https://accounts.google.com"
