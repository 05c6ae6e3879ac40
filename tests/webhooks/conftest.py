"""Fixtures of the webhook tests: a real HTTP server on loopback that receives deliveries, and
an app (with its job worker) committing to a migrated database of its own."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from app.core.config import Settings
from tests.conftest import http_client, running_app
from tests.users.factories import SignedIn, bearer, create_user, login

HOOKS = "/api/v1/webhooks"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """A customer's server: records every POST, answers each with the next of `answers`
    (then 200); `Location` goes with a redirect."""

    port: int
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    location: str = ""

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, request: Received) -> int:
        self.received.append(request)
        return self.answers.pop(0) if self.answers else 200

    async def wait_for(self, count: int, within: float = 15) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} received"
            await asyncio.sleep(0.02)
        return self.received


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length).decode()
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = receiver.answer(Received(self.path, headers, body))
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", receiver.location)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = Receiver(server.server_address[1])
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hook_settings(settings: Settings, migrated: str) -> Settings:
    """Quick tries to loopback; endpoints disabled after 3 failures in a row."""
    return settings.model_copy(
        update={
            "database_url": migrated,
            "jobs_worker": True,
            "jobs_poll_interval": 0.05,
            "webhooks_allow_private": True,
            "webhooks_timeout": 2.0,
            "webhooks_retry_delay": 0.05,
            "webhooks_max_attempts": 3,
            "webhooks_disable_after": 3,
            "webhooks_disable_period": timedelta(0),
            "webhooks_secret_grace": timedelta(seconds=1),
        }
    )


@dataclass(frozen=True)
class Live:
    app: FastAPI
    client: AsyncClient

    async def user(self) -> SignedIn:
        async with self.app.state.sessionmaker() as session:
            user = await create_user(session)
        return SignedIn(user, bearer(await login(self.client, user.email)))


@pytest.fixture
async def live(hook_settings: Settings) -> AsyncIterator[Live]:
    async with running_app(hook_settings) as app, http_client(app) as client:
        yield Live(app, client)


async def subscribe(
    client: AsyncClient, owner: SignedIn, url: str, *events: str, base: str = HOOKS
) -> dict[str, Any]:
    body = {"url": url, "events": list(events or ["item.created"])}
    response = await client.post(base, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliveries(
    client: AsyncClient, owner: SignedIn, webhook: dict[str, Any], *, base: str = HOOKS
) -> list[dict[str, Any]]:
    response = await client.get(f"{base}/{webhook['id']}/deliveries", headers=owner.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def until_delivery(
    client: AsyncClient,
    owner: SignedIn,
    webhook: dict[str, Any],
    state: str,
    *,
    base: str = HOOKS,
    within: float = 15,
) -> dict[str, Any]:
    """The endpoint's only delivery once it is in `state`."""
    deadline = time.monotonic() + within
    while True:
        listed = await deliveries(client, owner, webhook, base=base)
        if listed and listed[0]["state"] == state:
            return listed[0]
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.05)
