"""The pages behind the mailed links in a real Chromium, against `app serve` with its default
`PUBLIC_URL`: the link is taken from the mail the test SMTP server received, opened, the page
completed, and the effect seen through the API.

With `SCREENSHOTS=<folder>` the pages are also saved there (the README's come from this test).
"""

import re
from pathlib import Path
from uuid import uuid4

from httpx import AsyncClient
from playwright.async_api import Page, expect

from tests.live import LiveServerFactory
from tests.mail import Mailbox, SmtpServer, text_of

PASSWORD = "browser test password"
NEW_PASSWORD = "another browser passphrase"
LINK = re.compile(r"http://\S+token=[A-Za-z0-9_-]+")


async def mailed_link(mailbox: Mailbox, email: str, count: int) -> str:
    message = (await mailbox.wait_for(email, count=count))[-1]
    found = LINK.search(text_of(message))
    assert found, text_of(message)
    return found.group(0)


async def test_verify_the_address_and_reset_the_password_from_the_mail(
    live_server: LiveServerFactory,
    fresh_database_url: str,
    smtp_server: SmtpServer,
    page: Page,
    screenshots: Path,
) -> None:
    server = live_server(fresh_database_url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port))
    email = f"browser-{uuid4().hex[:8]}@example.com"
    async with AsyncClient(base_url=server.base_url) as api:
        registered = await api.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text

        link = await mailed_link(smtp_server.mailbox, email, 1)
        assert link.startswith(f"{server.base_url}/account/verify-email?token=")
        await page.goto(link)
        await expect(page.get_by_role("heading")).to_have_text("Confirm your email address")
        await page.screenshot(path=screenshots / "verify-email.png")
        await page.get_by_role("button", name="Confirm my address").click()
        await expect(page.get_by_role("status")).to_have_text("Your address is verified.")
        login = await api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = (await api.get("/api/v1/users/me", headers=headers)).json()
        assert me["email_verified_at"] is not None

        await api.post("/api/v1/auth/password-reset", json={"email": email})
        await page.goto(await mailed_link(smtp_server.mailbox, email, 2))
        await page.get_by_label("New password").fill(NEW_PASSWORD)
        await page.get_by_label("The same password again").fill(NEW_PASSWORD + "?")
        await page.get_by_role("button", name="Set the new password").click()
        await expect(page.get_by_role("alert")).to_contain_text("The two passwords differ")
        await expect(page.get_by_label("New password")).to_be_focused()
        await page.screenshot(path=screenshots / "reset-password.png")
        await page.get_by_label("New password").fill(NEW_PASSWORD)
        await page.get_by_label("The same password again").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Set the new password").click()
        await expect(page.get_by_role("heading")).to_have_text("Password changed")

        assert (await api.get("/api/v1/users/me", headers=headers)).status_code == 401
        again = await api.post(
            "/api/v1/auth/login", json={"email": email, "password": NEW_PASSWORD}
        )
        assert again.status_code == 200
