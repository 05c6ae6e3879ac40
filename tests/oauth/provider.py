"""A real OpenID provider for the tests (node-oidc-provider, started by `npm ci` + node on
loopback), and a browser-less user who signs in at its development login and consent pages."""

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import httpx2
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.live import free_port

FOLDER = Path(__file__).parent / "provider"
CLIENT_ID = "app"
CLIENT_SECRET = "test-client-secret-of-the-app"
STARTUP_SECONDS = 30
PROVIDER = "test"
# The app's PUBLIC_URL in the tests' settings.
PUBLIC_URL = "http://127.0.0.1:8000"
CALLBACK_PATH = f"/api/v1/auth/oauth/{PROVIDER}/callback"
CALLBACK = f"{PUBLIC_URL}{CALLBACK_PATH}"


@dataclass
class OpenIDProvider:
    issuer: str
    key: RSAKey
    process: subprocess.Popen[bytes]

    def sign(self, claims: dict[str, Any]) -> str:
        """An ID token signed with the provider's own key (one it would never issue)."""
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)


@contextmanager
def running_provider(redirect_uris: list[str], log: Path) -> Iterator[OpenIDProvider]:
    if not (FOLDER / "node_modules").exists():
        npm = [_program("npm"), "ci", "--no-audit", "--no-fund"]
        subprocess.run(npm, cwd=FOLDER, check=True, timeout=300)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"}, private=True)
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": redirect_uris,
    }
    environment = {
        **os.environ,
        "PORT": str(port),
        "ISSUER": issuer,
        "CLIENTS": json.dumps([client]),
        "JWKS": json.dumps({"keys": [key.as_dict(private=True)]}),
    }
    process = subprocess.Popen(
        [_program("node"), "server.mjs"],
        cwd=FOLDER,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(issuer, process, log)
        yield OpenIDProvider(issuer, key, process)
    finally:
        process.kill()
        process.wait()


def _program(name: str) -> str:
    found = shutil.which(name)
    assert found, f"the OpenID provider needs Node.js ({name} is not on PATH)"
    return found


def _wait_for(issuer: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the OpenID provider did not start:\n{log.read_text()}")


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action")
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


async def sign_in_at_provider(authorize_url: str, login: str, *, back_to: str) -> str:
    """Signs in as `login` and consents, as a person would; the URL the provider sends the
    browser back to (it starts with `back_to`)."""
    async with httpx.AsyncClient(timeout=10) as browser:
        url = authorize_url
        for _ in range(12):
            response = await browser.get(url)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if url.startswith(back_to):
                    return url
                continue
            forms = _Forms()
            forms.feed(response.text)
            assert forms.action, response.text
            fields = {**forms.fields}
            if fields.get("prompt") == "login":
                fields.update(login=login, password="any")
            posted = await browser.post(urljoin(url, forms.action), data=fields)
            assert posted.is_redirect, posted.text
            url = urljoin(url, posted.headers["location"])
            if url.startswith(back_to):
                return url
    raise AssertionError("the provider never sent the browser back")


def claims_of(id_token: str) -> dict[str, Any]:
    """The claims of a JWT, unchecked (to alter them)."""
    payload = id_token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


class TamperingTransport(httpx2.AsyncBaseTransport):
    """The network, except that `rewrite` (when set) changes the claims of the ID token the
    token endpoint answers, re-signed with `sign`: what a provider must never do, to see it
    refused."""

    def __init__(self) -> None:
        self.network = httpx2.AsyncHTTPTransport()
        self.rewrite: Callable[[str, dict[str, Any]], str] | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.network.handle_async_request(request)
        if self.rewrite is None or not request.url.path.endswith("/token"):
            return response
        body = json.loads(await response.aread())
        if "id_token" in body:
            body["id_token"] = self.rewrite(body["id_token"], claims_of(body["id_token"]))
        return httpx2.Response(response.status_code, json=body)

    async def aclose(self) -> None:
        await self.network.aclose()
