"""The deployment across hosts (network namespaces): clients reach the app hosts only through
nginx; requests are spread over every host; and a host killed with SIGKILL under a steady load
of writes fails only the requests it had in flight, while every acknowledged write is in the
database afterwards (drill: kill -9 of one app host)."""

import asyncio
import signal
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from httpx import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from app.items.models import Item
from tests.live import TEST_ENVIRONMENT
from tests.users.factories import unique_email
from topology.deployment import Deployment, available, deployment, migrate
from topology.servers import Server

PASSWORD = "balanced password"
WRITERS = 8
LOAD_SECONDS = 6.0
KILL_AFTER = 2.0
ITEMS = "/api/v1/items"
ME = "/api/v1/users/me"
# The auth cache's ping interval and REDIS_TIMEOUT (the defaults).
HEARTBEAT, REDIS_TIMEOUT = 1.0, 0.5


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployment]:
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    with deployment(TEST_ENVIRONMENT, migrate) as running:
        yield running


def test_requests_are_spread_over_every_app_host(deployed: Deployment) -> None:
    with httpx.Client(base_url=deployed.url, timeout=10) as client:
        headers = sign_up(client)
        answers = Counter(
            client.get("/api/v1/users/me", headers=headers).status_code for _ in range(30)
        )

    assert answers == Counter({200: 30})
    for server in deployed.apps:
        assert '"path":"/api/v1/users/me"' in server.output(), server.name


async def test_a_rolling_restart_fails_no_request(deployed: Deployment) -> None:
    async def restart_each_host() -> None:
        for index in range(len(deployed.apps)):
            await asyncio.sleep(1)
            away = await asyncio.to_thread(deployed.restart_app, index)
            print(f"{deployed.apps[index].name} away {away:.1f} s")

    load = await steady_load(deployed, restart_each_host())

    print(f"rolling restart: {load}")
    assert await stored_ids(deployed, load.acknowledged) == set(load.acknowledged)
    assert not load.failed, load.failed
    assert load.read == len(load.acknowledged)


async def test_a_pooler_restart_fails_requests_cleanly_then_recovers(deployed: Deployment) -> None:
    restarted: list[float] = []

    async def restart_pooler() -> None:
        await asyncio.sleep(KILL_AFTER)
        restarted.append(time.monotonic())
        await asyncio.to_thread(deployed.pooler.restart)
        restarted.append(time.monotonic())

    load = await steady_load(deployed, restart_pooler())

    outage = max(load.failed_at, default=restarted[0]) - min(load.failed_at, default=restarted[0])
    print(f"pooler restart ({restarted[1] - restarted[0]:.1f} s): {load}, outage {outage:.1f} s")
    assert await stored_ids(deployed, load.acknowledged) == set(load.acknowledged)
    # The envelope's 503 (database unavailable), never a 500 or a cut connection.
    assert set(load.failed) <= {"POST 503", "GET 503"}, load.failed
    assert all(when < restarted[1] + 2 for when in load.failed_at), "still failing 2 s after"


def test_with_the_cache_cut_off_revocation_stays_immediate_on_every_host(
    deployed: Deployment,
) -> None:
    hosts = [httpx.Client(base_url=server.url, timeout=10) for server in deployed.apps]
    headers = sign_up(hosts[0])
    assert [host.get(ME, headers=headers).status_code for host in hosts] == [200] * len(hosts)
    assert all('"event":"auth_cache_on"' in server.output() for server in deployed.apps)

    cache = deployed.network.hosts["cache"]
    cache.cut()
    cut = time.monotonic()
    try:
        lost = [logged_at(server, "auth_cache_subscription_lost") for server in deployed.apps]
        logout = hosts[0].post("/api/v1/auth/logout", headers=headers)
        refused = [host.get(ME, headers=headers).status_code for host in hosts]
        wrong = {"email": unique_email(), "password": "not the password"}
        sign_up(hosts[1], wrong["email"])
        logins = [hosts[1].post("/api/v1/auth/login", json=wrong).status_code for _ in range(6)]
    finally:
        cache.mend()
        for host in hosts:
            host.close()

    off_after = [round(when - cut, 1) for when in lost]
    print(f"the auth cache off on each host {off_after} s after the cut")
    assert max(off_after) <= HEARTBEAT + REDIS_TIMEOUT + 1, off_after
    assert logout.status_code == 204
    assert refused == [401] * len(hosts)
    assert logins == [401] * 5 + [429]  # the per-email limit holds, in the host's memory


async def test_a_host_killed_under_load_loses_no_acknowledged_write(deployed: Deployment) -> None:
    victim = deployed.apps[1]
    killed_at: list[float] = []

    async def kill() -> None:
        await asyncio.sleep(KILL_AFTER)
        victim.signal(signal.SIGKILL)
        killed_at.append(time.monotonic())

    load = await steady_load(deployed, kill())

    print(f"kill -9: {load}")
    assert await stored_ids(deployed, load.acknowledged) == set(load.acknowledged)
    # At most what was in flight on the victim: one request per writer.
    assert sum(load.failed.values()) <= WRITERS, load.failed
    assert all(when < killed_at[0] + 1 for when in load.failed_at), "failures after the kill"


@dataclass
class Load:
    """What a steady load saw: the writes acknowledged (201), how many of them read back at
    once (200), and the failures by status or error, with when they happened."""

    acknowledged: list[uuid.UUID] = field(default_factory=list)
    read: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    failed_at: list[float] = field(default_factory=list)
    resent: int = 0

    def __str__(self) -> str:
        written, failed = len(self.acknowledged), dict(self.failed)
        return (
            f"{written} writes acknowledged, {self.read} read back, failed {failed}, "
            f"{self.resent} sent again after a closed connection"
        )


async def steady_load(deployed: Deployment, during: Coroutine[Any, Any, None]) -> Load:
    """`WRITERS` clients through the load balancer, each creating an item and reading it back,
    again and again, while `during` runs and for at least `LOAD_SECONDS`."""
    with httpx.Client(base_url=deployed.url, timeout=10) as signing:
        headers = sign_up(signing)
    load = Load()
    start = time.monotonic()

    def fail(kind: str) -> None:
        load.failed[kind] += 1
        load.failed_at.append(time.monotonic())

    drill = asyncio.ensure_future(during)

    async def send(
        client: httpx.AsyncClient, method: str, url: str, key: str = "", **options: Any
    ) -> Response:
        """As HTTP clients do: a request whose connection closed before any answer (a
        kept-alive connection the balancer closed as it reloaded) is sent once more; POSTs
        carry an Idempotency-Key, so that a write sent twice is made once."""
        sent = {**headers, "Idempotency-Key": key} if key else headers
        try:
            return await client.request(method, url, headers=sent, **options)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            load.resent += 1
            return await client.request(method, url, headers=sent, **options)

    async def writer(client: httpx.AsyncClient) -> None:
        while not drill.done() or time.monotonic() - start < LOAD_SECONDS:
            try:
                created = await send(client, "POST", ITEMS, str(uuid.uuid4()), json={"title": "w"})
                if created.status_code != 201:
                    fail(f"POST {created.status_code}")
                    continue
                load.acknowledged.append(uuid.UUID(created.json()["id"]))
                read = await send(client, "GET", created.headers["Location"])
            except httpx.TransportError as error:
                fail(type(error).__name__)
                continue
            if read.status_code == 200:
                load.read += 1
            else:
                fail(f"GET {read.status_code}")

    async with httpx.AsyncClient(base_url=deployed.url, timeout=10) as client:
        await asyncio.gather(drill, *(writer(client) for _ in range(WRITERS)))
    return load


def sign_up(client: httpx.Client, email: str = "") -> dict[str, str]:
    credentials = {"email": email or unique_email(), "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
    response = client.post("/api/v1/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def logged_at(server: Server, event: str, limit: float = 10) -> float:
    """When (`time.monotonic()`) `event` is first seen in `server`'s log, looking from now."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if f'"event":"{event}"' in server.output():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"{server.name} never logged {event}")


async def stored_ids(deployed: Deployment, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` the primary holds."""
    engine = create_async_engine(deployed.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(Item.id).where(Item.id.in_(ids)))
            return {row.id for row in rows}
    finally:
        await engine.dispose()
