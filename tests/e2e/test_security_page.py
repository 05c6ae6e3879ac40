"""The account's security page in a real Chromium with a virtual authenticator (Chrome DevTools'
WebAuthn domain: a platform authenticator with resident keys and user verification) against
`app serve`: sign in, turn on an authenticator app (its code computed by pyotp), add a passkey,
sign out and back in with the passkey alone, then with the password and a recovery code; a
clone of the passkey whose signature counter fell behind is refused.

The page is opened at `localhost`: an IP address cannot be a WebAuthn relying party.
With `SCREENSHOTS=<folder>` the page is also saved there (the README's come from this test).
"""

from pathlib import Path
from typing import Any
from uuid import uuid4

import pyotp
from httpx import AsyncClient
from playwright.async_api import CDPSession, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from app.identity.models import AuditEvent
from tests.live import LiveServerFactory, free_port

PASSWORD = "browser test password"
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


async def virtual_authenticator(cdp: CDPSession) -> str:
    added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return str(added["authenticatorId"])


async def credentials(cdp: CDPSession, authenticator: str) -> list[dict[str, Any]]:
    found = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    return list(found["credentials"])


async def refusals(database_url: str) -> list[object]:
    """The details of the passkey sign-ins the server refused, from its audit log."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            failed = select(AuditEvent.details).where(AuditEvent.action == "passkey.failed")
            return list((await connection.execute(failed)).scalars())
    finally:
        await engine.dispose()


async def sign_in_with_password(page: Page, email: str, code: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_label("Code from your authenticator app").fill(code)
    await page.get_by_role("button", name="Sign in", exact=True).click()


async def test_second_factors_and_passkeys_on_the_security_page(
    live_server: LiveServerFactory, fresh_database_url: str, page: Page, screenshots: Path
) -> None:
    port = free_port()
    origin = f"http://localhost:{port}"
    server = live_server(fresh_database_url, "--port", str(port), PUBLIC_URL=origin)
    email = f"browser-{uuid4().hex[:8]}@example.com"
    async with AsyncClient(base_url=server.base_url) as api:
        registered = await api.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable", {"enableUI": False})
    device = await virtual_authenticator(cdp)
    who = page.locator("#who")
    status = page.get_by_role("status")

    await page.goto(f"{origin}/account/security")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.screenshot(path=screenshots / "security-sign-in.png")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(who).to_have_text(email)

    await page.get_by_role("button", name="Set up an authenticator app").click()
    await expect(page.locator("#totp-qr svg")).to_be_visible()
    secret = await page.locator("#totp-secret").text_content()
    assert secret
    await page.get_by_label("The 6-digit code it shows").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn it on").click()
    recovery_codes = page.locator("#recovery-codes li")
    await expect(recovery_codes).to_have_count(10)
    recovery_code = str(await recovery_codes.first.text_content())
    await expect(page.locator("#totp-state")).to_contain_text("On: sign-ins ask for a code")
    await expect(page.get_by_role("button", name="Set up an authenticator app")).to_be_hidden()

    await page.get_by_label("Name of the new passkey").fill("Laptop")
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(status).to_have_text("Laptop added: it signs in on its own from now on.")
    await expect(page.locator("#passkeys li strong")).to_have_text(["Laptop"])
    await page.screenshot(path=screenshots / "security.png", full_page=True)
    [registered_credential] = await credentials(cdp, device)
    assert registered_credential["isResidentCredential"]

    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("button", name="Sign in with a passkey").click()
    await expect(who).to_have_text(email)
    token = await page.evaluate("sessionStorage.getItem('app.session')")
    async with AsyncClient(base_url=server.base_url) as api:
        me = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == email, me.text

    await page.get_by_role("button", name="Sign out").click()
    await expect(recovery_codes).to_have_count(0)
    await sign_in_with_password(page, email, recovery_code)
    await expect(who).to_have_text(email)
    await expect(page.locator("#totp-state")).to_contain_text("9 recovery codes left")

    # A copy of the key as it was at registration, on another device: its counter is behind
    # the one the server saw at the passkey sign-in.
    await cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": device})
    clone = await virtual_authenticator(cdp)
    await cdp.send(
        "WebAuthn.addCredential", {"authenticatorId": clone, "credential": registered_credential}
    )
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("button", name="Sign in with a passkey").click()
    await expect(status).to_have_text("The passkey could not be verified")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await refusals(fresh_database_url) == [{"reason": "stale_sign_count"}]
