"""The admin console in a real Chromium, against `app serve`: signing in, finding a user,
deactivating them (their API token is refused at once), a user without `users:admin` turned
away, a forged request without the CSRF token refused, signing out.

With `SCREENSHOTS=<folder>` the console's pages are also saved there (docs/ has them)."""

import asyncio
from pathlib import Path
from uuid import uuid4

from httpx import AsyncClient
from playwright.async_api import Page, expect
from typer.testing import CliRunner

from app.cli import cli
from tests.live import LiveServerFactory

PASSWORD = "console browser password"


async def create_superuser(database_url: str, email: str) -> None:
    """Through the CLI, as an operator makes the first one (in a thread: it runs its own
    event loop)."""
    command = ["users", "create-superuser", "--email", email, "--password", PASSWORD]
    env = {"DATABASE_URL": database_url}
    result = await asyncio.to_thread(CliRunner().invoke, cli, command, env=env)
    assert result.exit_code == 0, result.output


async def sign_in(page: Page, email: str) -> None:
    await page.get_by_label("Username").fill(email)
    await page.get_by_role("textbox", name="Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_an_administrator_deactivates_a_user_from_the_console(
    live_server: LiveServerFactory, fresh_database_url: str, page: Page, screenshots: Path
) -> None:
    server = live_server(fresh_database_url)
    admin = f"admin-{uuid4().hex[:8]}@example.com"
    person = f"person-{uuid4().hex[:8]}@example.com"
    await create_superuser(fresh_database_url, admin)
    async with AsyncClient(base_url=server.base_url) as api:
        account = {"email": person, "password": PASSWORD}
        assert (await api.post("/api/v1/auth/register", json=account)).status_code == 201
        login = await api.post("/api/v1/auth/login", json=account)
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert (await api.get("/api/v1/users/me", headers=headers)).status_code == 200

        await page.goto(f"{server.base_url}/admin/")
        await expect(page.get_by_role("heading")).to_have_text("Login to your account")
        await page.screenshot(path=screenshots / "console-login.png")
        await sign_in(page, person)
        await expect(page.get_by_text("This account may not use the admin console")).to_be_visible()

        await sign_in(page, admin)
        await page.get_by_role("link", name="Users").click()
        await page.get_by_placeholder("Search").fill(person)
        await page.keyboard.press("Enter")
        row = page.get_by_role("row").filter(has_text=person)
        await expect(row).to_have_count(1)
        await page.screenshot(path=screenshots / "console-users.png")
        await row.get_by_role("button", name="Actions").click()
        await row.get_by_text("Deactivate").click()
        await expect(page.get_by_text("Their sessions end")).to_be_visible()
        await page.screenshot(path=screenshots / "console-deactivate.png")
        await page.get_by_role("button", name="Deactivate").click()
        await expect(
            page.get_by_text("Deactivated: their sessions and keys are revoked")
        ).to_be_visible()

        assert (await api.get("/api/v1/users/me", headers=headers)).status_code == 401

        forged = await page.evaluate(
            """async (url) => (await fetch(url, {method: "POST"})).status""",
            f"{server.base_url}/admin/_api/users/row-action?name=activate&pk=00000000-0000-0000-0000-000000000000",
        )
        assert forged == 403

        await page.get_by_role("link", name="Audit log").click()
        await expect(page.get_by_role("row").filter(has_text="user.deactivated")).to_have_count(1)
        await page.screenshot(path=screenshots / "console-audit-log.png")

        await page.get_by_role("link", name="Open user menu").click()
        await page.get_by_role("button", name="Logout").click()
        await expect(page.get_by_label("Username")).to_be_visible()
        await page.goto(f"{server.base_url}/admin/users/list")
        await expect(page.get_by_label("Username")).to_be_visible()
