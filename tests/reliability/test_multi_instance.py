"""Two `app serve` processes on different ports sharing PostgreSQL and Redis behave as one
service: tokens, logouts, rate-limit counts and If-Match races are shared, and a change of
access on one is seen by the other's auth cache at once."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.models import utcnow
from app.identity.models import User
from tests.conftest import throwaway_database
from tests.live import TEST_ENVIRONMENT, LiveServer, free_port, start_server
from tests.mail import SmtpServer
from tests.reliability.test_outage import needs_postgres
from tests.users.factories import unique_email

pytestmark = needs_postgres

# A Redis database of its own, emptied afterwards.
REDIS_URL = "redis://127.0.0.1:6379/14"
PASSWORD = "shared password"
# How soon the other instance must see a change of access, from the write's response.
REVOCATION_LATENCY = 0.1
# Verification mails queued across both instances while SMTP is down.
MAILS = 30


@pytest.fixture(scope="module")
async def shared_database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with throwaway_database(tmp_path_factory.mktemp("shared")) as url:
        yield url


@pytest.fixture(scope="module")
async def instances(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str
) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """Started once for the module (each start costs seconds); tests use fresh emails. The
    auth cache is on (Redis is set)."""
    folder = tmp_path_factory.mktemp("instances")
    settings = {"REDIS_URL": REDIS_URL, "RATE_LIMIT_LOGIN_EMAIL": "3/minute"}
    redis = Redis.from_url(REDIS_URL)
    servers = (
        start_server(shared_database_url, folder, ready=True, **settings),
        start_server(shared_database_url, folder, ready=True, **settings),
    )
    try:
        yield servers
    finally:
        for server in servers:
            server.kill()
        await redis.flushdb()
        await redis.aclose()


def test_deactivation_on_one_instance_is_seen_by_the_other_within_100_ms(
    instances: tuple[LiveServer, LiveServer], admin: dict[str, str]
) -> None:
    first, second = instances
    headers = sign_in(first, unique_email())
    user_id = httpx.get(f"{first.base_url}/api/v1/users/me", headers=headers).json()["id"]
    cached_on(second, headers)

    url = f"{first.base_url}/api/v1/users/{user_id}"
    assert httpx.patch(url, json={"is_active": False}, headers=admin).status_code == 200

    assert seconds_until(lambda: me(second, headers) == 401) < REVOCATION_LATENCY


def test_password_change_on_one_instance_is_seen_by_the_other_within_100_ms(
    instances: tuple[LiveServer, LiveServer],
) -> None:
    first, second = instances
    email = unique_email()
    headers = sign_in(first, email)
    credentials = {"email": email, "password": PASSWORD}
    response = httpx.post(f"{second.base_url}/api/v1/auth/login", json=credentials)
    elsewhere = {"Authorization": f"Bearer {response.json()['access_token']}"}
    cached_on(second, elsewhere)

    change = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    url = f"{first.base_url}/api/v1/auth/password"
    assert httpx.post(url, json=change, headers=headers).status_code == 204

    assert seconds_until(lambda: me(second, elsewhere) == 401) < REVOCATION_LATENCY
    assert me(second, headers) == 200


def sign_in(server: LiveServer, email: str) -> dict[str, str]:
    credentials = {"email": email, "password": PASSWORD}
    httpx.post(f"{server.base_url}/api/v1/auth/register", json=credentials).raise_for_status()
    response = httpx.post(f"{server.base_url}/api/v1/auth/login", json=credentials)
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def mark_verified(database_url: str, email: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            verified = update(User).where(User.email == email).values(email_verified_at=utcnow())
            await connection.execute(verified)
    finally:
        await engine.dispose()


def me(server: LiveServer, headers: dict[str, str]) -> int:
    return httpx.get(f"{server.base_url}/api/v1/users/me", headers=headers).status_code


@pytest.fixture(scope="module")
def admin(instances: tuple[LiveServer, LiveServer], shared_database_url: str) -> dict[str, str]:
    email = unique_email()
    command = ["users", "create-superuser", "--email", email, "--password", PASSWORD]
    subprocess.run(
        [sys.executable, "-m", "app", *command],
        env={**os.environ, **TEST_ENVIRONMENT, "DATABASE_URL": shared_database_url},
        check=True,
        capture_output=True,
    )
    credentials = {"email": email, "password": PASSWORD}
    response = httpx.post(f"{instances[0].base_url}/api/v1/auth/login", json=credentials)
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def seconds_until(condition: Callable[[], bool], limit: float = 1.0) -> float:
    """How long `condition` took to hold (it is asked at once, then again until `limit`)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < limit, f"not seen within {limit} s"
    return time.monotonic() - start


def cached_on(server: LiveServer, headers: dict[str, str]) -> None:
    """Two lookups on `server`: the second is answered from its cache."""
    assert [me(server, headers), me(server, headers)] == [200, 200]


def test_a_token_from_one_instance_works_on_the_other(
    instances: tuple[LiveServer, LiveServer],
) -> None:
    first, second = instances

    headers = sign_in(first, unique_email())

    assert me(second, headers) == 200


def test_logout_on_one_instance_is_seen_by_the_other_at_once(
    instances: tuple[LiveServer, LiveServer],
) -> None:
    first, second = instances
    headers = sign_in(first, unique_email())
    assert me(second, headers) == 200

    assert httpx.post(f"{first.base_url}/api/v1/auth/logout", headers=headers).status_code == 204

    assert me(second, headers) == 401


def test_rate_limit_counts_are_shared(instances: tuple[LiveServer, LiveServer]) -> None:
    email = unique_email()
    wrong = {"email": email, "password": "not the password"}

    codes = [
        httpx.post(f"{server.base_url}/api/v1/auth/login", json=wrong).status_code
        for server in (*instances, *instances)
    ]

    assert codes == [401, 401, 401, 429]


async def test_concurrent_if_match_updates_across_instances_have_one_winner(
    instances: tuple[LiveServer, LiveServer],
) -> None:
    first, second = instances
    headers = sign_in(first, unique_email())

    async with (
        httpx.AsyncClient(base_url=first.base_url) as one,
        httpx.AsyncClient(base_url=second.base_url) as other,
    ):
        created = await one.post("/api/v1/items", json={"title": "v1"}, headers=headers)
        url = f"/api/v1/items/{created.json()['id']}"
        if_match = {**headers, "If-Match": created.headers["ETag"]}
        responses = await asyncio.gather(
            *(
                client.patch(url, json={"title": f"writer {n}"}, headers=if_match)
                for n, client in enumerate([one, other] * 4)
            )
        )
        final = await other.get(url, headers=headers)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * 7
    winner = next(response for response in responses if response.status_code == 200)
    assert final.json()["title"] == winner.json()["title"]
    assert final.json()["version"] == 2


@pytest.mark.parametrize("change", ["role emptied", "role taken back"])
def test_a_role_change_on_one_instance_is_seen_by_the_other_within_100_ms(
    instances: tuple[LiveServer, LiveServer], admin: dict[str, str], change: str
) -> None:
    first, second = instances
    headers = sign_in(first, unique_email())
    user_id = httpx.get(f"{first.base_url}/api/v1/users/me", headers=headers).json()["id"]
    auditor = {"name": f"auditor-{user_id[:8]}", "permissions": ["users:admin"]}
    role = httpx.post(f"{first.base_url}/api/v1/roles", json=auditor, headers=admin).json()
    holding = f"{first.base_url}/api/v1/users/{user_id}/roles/{role['id']}"
    assert httpx.put(holding, headers=admin).status_code == 204
    assert [users_listed(second, headers) for _ in range(2)] == [200, 200]

    if change == "role emptied":
        url = f"{first.base_url}/api/v1/roles/{role['id']}"
        assert httpx.patch(url, json={"permissions": []}, headers=admin).status_code == 200
    else:
        assert httpx.delete(holding, headers=admin).status_code == 204

    assert seconds_until(lambda: users_listed(second, headers) == 403) < REVOCATION_LATENCY
    assert me(second, headers) == 200


def users_listed(server: LiveServer, headers: dict[str, str]) -> int:
    return httpx.get(f"{server.base_url}/api/v1/users", headers=headers).status_code


def test_an_api_key_revoked_on_one_instance_is_refused_by_the_other_at_once(
    instances: tuple[LiveServer, LiveServer], shared_database_url: str
) -> None:
    first, second = instances
    email = unique_email()
    headers = sign_in(first, email)
    asyncio.run(mark_verified(shared_database_url, email))  # keys need a verified address
    keys = f"{first.base_url}/api/v1/auth/api-keys"
    body = {"name": "ci", "scopes": ["account:read"], "current_password": PASSWORD}
    created = httpx.post(keys, json=body, headers=headers)
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    assert me(second, key) == 200  # its first use is written down, not cached
    cached_on(second, key)

    assert httpx.delete(f"{keys}/{created.json()['id']}", headers=headers).status_code == 204

    assert me(second, key) == 401
    assert me(second, headers) == 200


async def test_two_instances_draining_one_outbox_send_each_mail_exactly_once(
    tmp_path: Path,
) -> None:
    """Registrations on both instances queue their verification mail while SMTP is down; when
    it is back, both instances' workers retry the same rows at once, and each address still
    gets one mail."""
    smtp_port = free_port()
    outbox = {
        "SMTP_PORT": str(smtp_port),
        "JOBS_POLL_INTERVAL": "0.05",
        "OUTBOX_RETRY_DELAY": "0.2",
        "OUTBOX_MAX_ATTEMPTS": "12",
        "RATE_LIMIT_REGISTER_IP": "1000/hour",
    }
    emails = [unique_email() for _ in range(MAILS)]
    async with throwaway_database(tmp_path) as database_url:
        servers = [start_server(database_url, tmp_path, ready=True, **outbox) for _ in range(2)]
        try:
            async with httpx.AsyncClient() as client:
                for n, email in enumerate(emails):
                    credentials = {"email": email, "password": PASSWORD}
                    url = f"{servers[n % 2].base_url}/api/v1/auth/register"
                    (await client.post(url, json=credentials)).raise_for_status()
            smtp = SmtpServer(smtp_port).start()
            try:
                async with asyncio.timeout(30):
                    for email in emails:
                        await smtp.mailbox.wait_for(email)
                await asyncio.sleep(1)  # a second copy of any of them would have arrived
            finally:
                smtp.stop()
            sent = [await mails_sent(server) for server in servers]
        finally:
            for server in servers:
                server.kill()

    received = sorted(str(message["To"]) for message in smtp.mailbox.messages)
    assert received == sorted(emails)
    assert sum(sent) == MAILS
    assert all(sent), f"one instance sent everything: {sent}"


async def mails_sent(server: LiveServer) -> float:
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{server.base_url}/metrics")).text
    line = next(line for line in metrics.splitlines() if line.startswith("mail_sent_total "))
    return float(line.split()[1])
