"""Sign-in against a real OpenID provider on loopback, shared by the session; each test's app
is bound to its transaction, with the provider's token answers passing a transport the test
may tamper with."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import OAuthProviderSettings, Settings
from app.oauth.providers import ProviderRegistry
from tests.conftest import http_client, running_app
from tests.oauth.provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    PROVIDER,
    PUBLIC_URL,
    OpenIDProvider,
    TamperingTransport,
)


def provider_settings(provider: OpenIDProvider) -> OAuthProviderSettings:
    return OAuthProviderSettings.model_validate(
        {
            "name": PROVIDER,
            "kind": "oidc",
            "issuer": provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "display_name": "Test provider",
        }
    )


@pytest.fixture
def oauth_settings(settings: Settings, openid_provider: OpenIDProvider) -> Settings:
    return settings.model_copy(
        update={"public_url": PUBLIC_URL, "oauth_providers": [provider_settings(openid_provider)]}
    )


@pytest.fixture
async def tampering() -> AsyncIterator[TamperingTransport]:
    transport = TamperingTransport()
    yield transport
    await transport.aclose()


@pytest.fixture
async def app(
    oauth_settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tampering: TamperingTransport,
) -> AsyncIterator[FastAPI]:
    async with running_app(oauth_settings, sessionmaker=sessionmaker) as application:
        application.state.oauth_providers = ProviderRegistry(oauth_settings, transport=tampering)
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with http_client(app) as client:
        yield client
