"""The sign-in providers, spoken to through Authlib: OpenID Connect by discovery (Google is a
preset of it), and GitHub's plain OAuth 2.0. Authlib builds the authorization URL with PKCE,
exchanges the code, and validates ID tokens against the provider's JWKS (signature, `iss`,
`aud`, `exp`, `iat`, `nonce`, `at_hash`); what it does not check, the issuer named in discovery,
is checked here."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2
from authlib.integrations.base_client import BaseApp, OAuthError
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc.errors import JoseError

from app.core.config import OAuthProviderSettings, ProviderKind, Settings

GOOGLE_ISSUER = "https://accounts.google.com"
OIDC_SCOPES = ("openid", "email", "profile")
GITHUB_SCOPES = ("read:user", "user:email")
GITHUB_AUTHORIZE = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN = "https://github.com/login/oauth/access_token"  # noqa: S105 - a URL
GITHUB_API = "https://api.github.com/"
DISPLAY_NAMES = {"google": "Google", "github": "GitHub"}
# Seconds of clock difference tolerated on `exp` and `iat`.
CLOCK_LEEWAY = 60


class ProviderError(Exception):
    """The provider refused or answered what cannot be trusted (a bad ID token, an OAuth
    error such as a used code)."""


class ProviderUnavailableError(Exception):
    """The provider could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class Profile:
    """Who the provider says signed in: `subject` is stable there; the email may change."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None


class Provider(Protocol):
    name: str
    display_name: str
    kind: ProviderKind

    async def authorization_url(
        self, redirect_uri: str, *, state: str, nonce: str, code_verifier: str
    ) -> str: ...

    async def profile(
        self, redirect_uri: str, *, code: str, nonce: str, code_verifier: str
    ) -> Profile: ...


class _AuthlibApp(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):  # type: ignore[misc]
    """Authlib's framework-neutral client (its Starlette one keeps state in a cookie session;
    ours is in the database)."""

    client_cls = AsyncOAuth2Client


class _AuthlibProvider:
    def __init__(
        self,
        config: OAuthProviderSettings,
        *,
        default_scopes: tuple[str, ...],
        timeout: float,
        transport: httpx2.AsyncBaseTransport | None,
        **endpoints: str,
    ):
        self.name = config.name
        self.kind = config.kind
        self.display_name = (
            config.display_name or DISPLAY_NAMES.get(config.kind) or config.name.title()
        )
        client_kwargs: dict[str, Any] = {
            "scope": " ".join(config.scopes or default_scopes),
            "code_challenge_method": "S256",
            "timeout": timeout,
        }
        if transport is not None:
            client_kwargs["transport"] = transport
        self.app = _AuthlibApp(
            framework=None,
            name=config.name,
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            client_kwargs=client_kwargs,
            **endpoints,
        )

    async def authorization_url(
        self, redirect_uri: str, *, state: str, nonce: str, code_verifier: str
    ) -> str:
        with _provider_errors():
            found = await self.app.create_authorization_url(
                redirect_uri, state=state, nonce=nonce, code_verifier=code_verifier
            )
        return str(found["url"])

    async def _token(self, redirect_uri: str, code: str, code_verifier: str) -> dict[str, Any]:
        token: dict[str, Any] = await self.app.fetch_access_token(
            redirect_uri, code=code, code_verifier=code_verifier
        )
        return token


class OpenIDProvider(_AuthlibProvider):
    def __init__(
        self,
        config: OAuthProviderSettings,
        *,
        issuer: str,
        timeout: float,
        transport: httpx2.AsyncBaseTransport | None,
    ):
        self.issuer = issuer.rstrip("/")
        super().__init__(
            config,
            default_scopes=OIDC_SCOPES,
            timeout=timeout,
            transport=transport,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
        )

    async def authorization_url(
        self, redirect_uri: str, *, state: str, nonce: str, code_verifier: str
    ) -> str:
        await self._discover()
        return await super().authorization_url(
            redirect_uri, state=state, nonce=nonce, code_verifier=code_verifier
        )

    async def profile(
        self, redirect_uri: str, *, code: str, nonce: str, code_verifier: str
    ) -> Profile:
        with _provider_errors():
            await self._discover()
            token = await self._token(redirect_uri, code, code_verifier)
            if "id_token" not in token:
                raise ProviderError("The provider sent no ID token")
            claims = await self.app.parse_id_token(token, nonce, leeway=CLOCK_LEEWAY)
        email = claims.get("email")
        return Profile(
            subject=str(claims["sub"]),
            email=str(email) if email else None,
            email_verified=claims.get("email_verified") is True,
            name=claims.get("name"),
        )

    async def _discover(self) -> None:
        with _provider_errors():
            metadata = await self.app.load_server_metadata()
        # OpenID Connect Discovery §4.3: the document names the issuer it was asked about.
        if str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
            self.app.server_metadata.clear()
            raise ProviderError("The provider's discovery document names another issuer")


class GitHubProvider(_AuthlibProvider):
    """GitHub has no ID token: the account is its numeric id, the address the primary one
    GitHub has verified."""

    def __init__(
        self,
        config: OAuthProviderSettings,
        *,
        timeout: float,
        transport: httpx2.AsyncBaseTransport | None,
    ):
        super().__init__(
            config,
            default_scopes=GITHUB_SCOPES,
            timeout=timeout,
            transport=transport,
            authorize_url=GITHUB_AUTHORIZE,
            access_token_url=GITHUB_TOKEN,
            api_base_url=GITHUB_API,
        )

    async def profile(
        self, redirect_uri: str, *, code: str, nonce: str, code_verifier: str
    ) -> Profile:
        with _provider_errors():
            token = await self._token(redirect_uri, code, code_verifier)
            account = await self._get("user", token)
            emails = await self._get("user/emails", token)
        primary = next((entry for entry in emails if entry.get("primary")), None)
        return Profile(
            subject=str(account["id"]),
            email=primary.get("email") if primary else None,
            email_verified=bool(primary and primary.get("verified") is True),
            name=account.get("name") or account.get("login"),
        )

    async def _get(self, path: str, token: dict[str, Any]) -> Any:
        response = await self.app.get(path, token=token)
        response.raise_for_status()
        return response.json()


@contextmanager
def _provider_errors() -> Iterator[None]:
    """What a provider's failures mean here: unreachable or slow, or not to be trusted."""
    try:
        yield
    except (ProviderError, ProviderUnavailableError):
        raise
    except httpx2.TransportError as error:
        raise ProviderUnavailableError(type(error).__name__) from error
    except httpx2.HTTPStatusError as error:
        if error.response.status_code >= 500:
            raise ProviderUnavailableError(f"HTTP {error.response.status_code}") from error
        raise ProviderError(f"HTTP {error.response.status_code}") from error
    except (OAuthError, JoseError, ValueError, KeyError, TypeError) as error:
        raise ProviderError(f"{type(error).__name__}: {error}") from error


class ProviderRegistry:
    """The providers of `OAUTH_PROVIDERS`, by name. `transport` replaces the network (tests
    put a provider that cannot run here, GitHub, behind it)."""

    def __init__(self, settings: Settings, transport: httpx2.AsyncBaseTransport | None = None):
        self.by_name: dict[str, Provider] = {
            config.name: _provider(config, settings.oauth_timeout, transport)
            for config in settings.oauth_providers
        }

    def get(self, name: str) -> Provider | None:
        return self.by_name.get(name)


def _provider(
    config: OAuthProviderSettings, timeout: float, transport: httpx2.AsyncBaseTransport | None
) -> Provider:
    if config.kind == "github":
        return GitHubProvider(config, timeout=timeout, transport=transport)
    issuer = GOOGLE_ISSUER if config.kind == "google" else str(config.issuer)
    return OpenIDProvider(config, issuer=issuer, timeout=timeout, transport=transport)
