"""Swagger UI at /docs in a real headless Chromium: what a newcomer does first.

Debian's Chromium, driven by Playwright (no browser download). The page loads everything from the
app itself, so it works offline.
"""

from uuid import uuid4

import orjson
from httpx import AsyncClient
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import TIMEOUT_MS
from tests.live import LiveServerFactory

PASSWORD = "swagger ui password"


async def authorize(page: Page, *, email: str, password: str) -> None:
    """The Authorize dialog's OAuth2 password form, which posts to /api/v1/auth/token."""
    await page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    await dialog.locator("#oauth_username").fill(email)
    await dialog.locator("#oauth_password").fill(password)
    await dialog.get_by_role("button", name="Apply given OAuth2 credentials").click()
    logout = dialog.get_by_role("button", name="Remove authorization")
    await expect(logout).to_be_visible(timeout=TIMEOUT_MS)
    await dialog.get_by_role("button", name="Close").click()


async def try_it_out(page: Page, operation: str, *, body: str | None = None) -> Locator:
    """Expand an operation (`<tag>-<operation id>`), "Try it out", optionally replace the
    example body, "Execute"; returns the live response row once it is shown."""
    block = page.locator(f"#operations-{operation}")
    await block.locator(".opblock-summary").click()
    await block.get_by_role("button", name="Try it out").click()
    if body is not None:
        await block.locator("textarea.body-param__text").fill(body)
    await block.get_by_role("button", name="Execute").click()
    response = block.locator(".live-responses-table .response")
    await expect(response).to_be_visible(timeout=TIMEOUT_MS)
    return response


async def shown_status(response: Locator) -> str:
    return await response.locator(".response-col_status").inner_text()


async def shown_body(response: Locator) -> dict[str, object]:
    text = await response.locator(".response-col_description .highlight-code pre").inner_text()
    body = orjson.loads(text)
    assert isinstance(body, dict)
    return body


async def test_authorize_read_me_and_create_an_item(
    live_server: LiveServerFactory, fresh_database_url: str, page: Page
) -> None:
    server = live_server(fresh_database_url)
    email = f"swagger-{uuid4().hex}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    async with AsyncClient(base_url=server.base_url) as api:
        assert (await api.post("/api/v1/auth/register", json=credentials)).status_code == 201
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))

        await page.goto(f"{server.base_url}/docs")
        await authorize(page, email=email, password=PASSWORD)
        me = await try_it_out(page, "users-read_me")
        created = await try_it_out(page, "items-create_item", body='{"title": "from the UI"}')

        assert (await shown_status(me), (await shown_body(me))["email"]) == ("200", email)
        assert await shown_status(created) == "201"
        token = (await api.post("/api/v1/auth/login", json=credentials)).json()["access_token"]
        stored = await api.get(
            f"/api/v1/items/{(await shown_body(created))['id']}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert (stored.status_code, stored.json()["title"]) == (200, "from the UI")
    # Scripts, styles and the schema all came from the app: /docs needs no CDN.
    assert all(url.startswith(server.base_url) for url in requested), requested
