"""SIGTERM while requests are in flight: they complete, new connections are refused, the process
exits within the grace period, and the database holds exactly the complete writes."""

import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from app.identity.models import User
from tests.live import LiveServer, LiveServerFactory
from tests.users.factories import unique_email

REQUESTS = 8
# Production-grade Argon2 hashed one at a time makes each registration take a noticeable while.
SLOW_REGISTRATIONS = {
    "PASSWORD_HASH_TIME_COST": "10",
    "PASSWORD_HASH_MEMORY_KIB": "65536",
    "PASSWORD_HASH_PARALLELISM": "1",
    "PASSWORD_HASH_CONCURRENCY": "1",
    "RATE_LIMIT_REGISTER_IP": "",
}


def register(server: LiveServer, email: str) -> int | None:
    """The status, or None when the connection was refused or closed without an answer."""
    body = {"email": email, "password": "shutdown password"}
    try:
        response = httpx.post(f"{server.base_url}/api/v1/auth/register", json=body, timeout=60)
    except httpx.TransportError:
        return None
    if response.status_code == 503:
        assert response.json()["error_code"] == "SERVICE_UNAVAILABLE"
        assert "retry-after" in response.headers
    return response.status_code


async def stored_emails(database_url: str, emails: list[str]) -> set[str]:
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        rows = await connection.scalars(select(User.email).where(User.email.in_(emails)))
        stored = set(rows)
    await engine.dispose()
    return stored


def terminate_during(
    server: LiveServer, emails: list[str]
) -> tuple[list[int | None], float, int | None]:
    """Registers `emails` concurrently, sends SIGTERM once they are in flight; returns their
    statuses, the seconds from SIGTERM to exit, and the status of a request sent after it."""
    with ThreadPoolExecutor(max_workers=len(emails) + 1) as pool:
        inflight: list[Future[int | None]] = [
            pool.submit(register, server, email) for email in emails
        ]
        time.sleep(0.5)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        late = register(server, unique_email())
        server.process.wait(timeout=60)
        exited = time.monotonic() - signalled
        return [future.result() for future in inflight], exited, late


async def test_in_flight_requests_complete_and_new_ones_are_refused(
    live_server: LiveServerFactory, fresh_database_url: str, record_property: object
) -> None:
    server = live_server(fresh_database_url, SHUTDOWN_TIMEOUT="30", **SLOW_REGISTRATIONS)
    emails = [unique_email() for _ in range(REQUESTS)]

    statuses, exited, late = terminate_during(server, emails)

    assert statuses == [201] * REQUESTS
    assert late is None, "a request sent after SIGTERM was served"
    assert server.process.returncode == -signal.SIGTERM
    assert exited < 30
    assert await stored_emails(fresh_database_url, emails) == set(emails)
    record_property("exit_seconds", round(exited, 2))  # type: ignore[operator]


@pytest.mark.parametrize("grace", [1])
async def test_the_grace_period_bounds_the_exit_and_leaves_no_partial_write(
    live_server: LiveServerFactory, fresh_database_url: str, grace: int, record_property: object
) -> None:
    server = live_server(fresh_database_url, SHUTDOWN_TIMEOUT=str(grace), **SLOW_REGISTRATIONS)
    emails = [unique_email() for _ in range(REQUESTS)]

    statuses, exited, _late = terminate_during(server, emails)

    completed = {email for email, status in zip(emails, statuses, strict=True) if status == 201}
    # Requests still running when the grace period ends are cancelled and told to retry.
    dropped = [status for status in statuses if status == 503]
    assert dropped, f"every request finished: {statuses}"
    assert set(statuses) <= {201, 503}
    assert exited < grace + 3
    # Cancelled requests roll back: nothing beyond the acknowledged registrations is stored.
    assert await stored_emails(fresh_database_url, emails) == completed
    record_property("completed", len(completed))  # type: ignore[operator]
    record_property("dropped", len(dropped))  # type: ignore[operator]
