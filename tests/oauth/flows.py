"""Signing in through the app and the provider, as a browser would, over HTTP."""

from urllib.parse import parse_qs, urlsplit

from httpx import AsyncClient

from tests.oauth.provider import CALLBACK, PROVIDER, PUBLIC_URL, sign_in_at_provider

AUTHORIZE = f"/api/v1/auth/oauth/{PROVIDER}/authorize"
RESULT_PAGE = f"{PUBLIC_URL}/account/signed-in"


async def at_callback(client: AsyncClient, login: str, **params: str) -> str:
    """Authorize at the app, sign in as `login` at the provider: the callback URL it sends
    the browser back to, not yet opened."""
    started = await client.get(AUTHORIZE, params=params)
    assert started.status_code == 302, started.text
    return await sign_in_at_provider(started.headers["location"], login, back_to=CALLBACK)


async def open_callback(client: AsyncClient, callback_url: str) -> str:
    """The callback, opened in the app: where it sends the browser."""
    parts = urlsplit(callback_url)
    response = await client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302, response.text
    assert response.headers["cache-control"] == "no-store"
    return str(response.headers["location"])


async def sign_in(client: AsyncClient, login: str, **params: str) -> str:
    return await open_callback(client, await at_callback(client, login, **params))


def login_code_of(landing: str) -> str:
    fragment = parse_qs(urlsplit(landing).fragment)
    assert "login_code" in fragment, landing
    return fragment["login_code"][0]


def error_of(landing: str) -> str:
    parts = urlsplit(landing)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == RESULT_PAGE, landing
    assert not parts.fragment, landing
    return parse_qs(parts.query)["error"][0]


async def bearer_for(client: AsyncClient, landing: str) -> dict[str, str]:
    exchanged = await client.post(
        "/api/v1/auth/oauth/exchange", json={"login_code": login_code_of(landing)}
    )
    assert exchanged.status_code == 200, exchanged.text
    return {"Authorization": f"Bearer {exchanged.json()['access_token']}"}
