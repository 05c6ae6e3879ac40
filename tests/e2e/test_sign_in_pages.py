"""Signing in with a provider in a real Chromium: the sign-in page, the real OpenID provider's
login and consent pages, back to the result page, whose script exchanges the login code; the
session it shows works against the API. (`SCREENSHOTS=<folder>` saves the pages.)"""

import json
from pathlib import Path
from uuid import uuid4

from httpx import AsyncClient
from playwright.async_api import Page, expect

from tests.live import LiveServerFactory
from tests.oauth.conftest import provider_settings
from tests.oauth.provider import OpenIDProvider


async def test_sign_in_with_the_provider_and_use_the_session(
    live_server: LiveServerFactory,
    fresh_database_url: str,
    openid_provider: OpenIDProvider,
    browser_port: int,
    page: Page,
    screenshots: Path,
) -> None:
    provider = provider_settings(openid_provider)
    secret = provider.client_secret.get_secret_value()
    providers = json.dumps([{**provider.model_dump(mode="json"), "client_secret": secret}])
    server = live_server(fresh_database_url, "--port", str(browser_port), OAUTH_PROVIDERS=providers)
    email = f"browser-{uuid4().hex[:8]}@example.com"

    await page.goto(f"{server.base_url}/account/sign-in")
    await page.screenshot(path=screenshots / "sign-in.png")
    await page.get_by_role("link", name="Sign in with Test provider").click()
    await page.locator("input[name=login]").fill(email)
    await page.locator("input[name=password]").fill("anything")
    await page.get_by_role("button", name="Sign-in").click()
    await page.get_by_role("button", name="Continue").click()

    await expect(page.get_by_role("status")).to_have_text(f"You are signed in as {email}.")
    assert page.url == f"{server.base_url}/account/signed-in"
    await page.screenshot(path=screenshots / "signed-in.png")
    token = await page.locator("#token").input_value()
    async with AsyncClient(base_url=server.base_url) as api:
        me = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == email
