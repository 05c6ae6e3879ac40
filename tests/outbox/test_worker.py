"""The mail outbox against real SMTP servers: mail queued while the server is down is
delivered once it is back, a message that keeps failing is given up (log line and metric), and
two processes draining one outbox deliver each message exactly once."""

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.mail import Message, SmtpSender
from app.core.metrics import Metrics
from app.core.models import utcnow
from app.core.request import Clock
from app.mail.dependencies import build_outbox_service
from app.mail.models import OutboxMessage
from app.mail.worker import OutboxWorker, running_outbox
from tests.conftest import http_client, running_app
from tests.live import free_port
from tests.mail import SmtpServer, token_in
from tests.users.factories import DEFAULT_PASSWORD, unique_email

FAST = {
    "outbox_worker": True,
    "outbox_retry_delay": 0.1,
    "outbox_poll_interval": 0.1,
    "smtp_timeout": 2.0,
}


async def test_mail_queued_during_an_outage_is_delivered_when_smtp_is_back(
    settings: Settings, migrated: str
) -> None:
    port = free_port()
    down = settings.model_copy(update={**FAST, "smtp_port": port, "database_url": migrated})
    email = unique_email()
    async with running_app(down) as app, http_client(app) as client:
        body = {"email": email, "password": DEFAULT_PASSWORD}
        registered = await client.post("/api/v1/auth/register", json=body)
        asked = await client.post("/api/v1/auth/password-reset", json={"email": email})
        await asyncio.sleep(0.5)
        failures = app.state.metrics.mail_failures._value.get()
        server = SmtpServer(port).start()
        back = time.monotonic()
        try:
            messages = await server.mailbox.wait_for(email, count=2)
        finally:
            server.stop()
        recovered_in = time.monotonic() - back

    assert (registered.status_code, asked.status_code) == (201, 202)
    assert failures >= 2
    # Each message keeps its own retry schedule, so they may arrive in either order.
    by_subject = {str(message["Subject"]): message for message in messages}
    assert sorted(by_subject) == ["Confirm your email address", "Reset your password"]
    assert token_in(by_subject["Reset your password"])
    # Retries double from 0.1 s: the next try after 0.5 s of outage is at most ~0.8 s away.
    assert recovered_in < 3


async def test_a_message_that_keeps_failing_is_given_up(settings: Settings, migrated: str) -> None:
    failing = settings.model_copy(
        update={
            **FAST,
            "smtp_port": free_port(),
            "outbox_max_attempts": 2,
            "database_url": migrated,
        }
    )
    recipient = unique_email()
    engine = create_engine(failing)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        await build_outbox_service(session, failing).queue(
            Message(to=recipient, subject="s", text="token=secret-link", html="<p>x</p>")
        )
    metrics = Metrics(lambda: None)
    worker = OutboxWorker(sessionmaker, SmtpSender(failing), failing, metrics)

    try:
        with capture_logs() as logged:
            async with asyncio.timeout(10):
                while metrics.mail_given_up._value.get() < 1:
                    await worker.deliver_due()
                    await asyncio.sleep(0.05)
        async with sessionmaker() as session:
            statement = select(OutboxMessage).where(OutboxMessage.recipient == recipient)
            kept = (await session.scalars(statement)).one()
    finally:
        await engine.dispose()

    assert (kept.attempts, kept.text_body, kept.html_body) == (2, None, None)
    assert kept.failed_at is not None
    events = [entry["event"] for entry in logged]
    assert events == ["mail_send_failed", "mail_given_up"]
    assert metrics.mail_failures._value.get() == 2


async def test_two_processes_draining_one_outbox_deliver_each_message_once(
    settings: Settings, migrated: str
) -> None:
    server = SmtpServer().start()
    sending = settings.model_copy(update={"smtp_port": server.port, "database_url": migrated})
    recipients = [f"outbox-{n}@example.com" for n in range(40)]
    engines = [create_engine(sending), create_engine(sending)]
    async with create_sessionmaker(engines[0]).begin() as session:
        outbox = build_outbox_service(session, sending)
        for recipient in recipients:
            await outbox.queue(Message(to=recipient, subject="s", text="t", html="<p>h</p>"))
    workers = [
        OutboxWorker(create_sessionmaker(each), SmtpSender(sending), sending, Metrics(lambda: None))
        for each in engines
    ]
    try:
        async with asyncio.timeout(60):
            tried = await asyncio.gather(*(worker.deliver_due() for worker in workers))
        async with create_sessionmaker(engines[0])() as session:
            left = (await session.scalars(select(OutboxMessage))).all()
    finally:
        server.stop()
        for each in engines:
            await each.dispose()

    delivered = sorted(str(message["To"]) for message in server.mailbox.messages)
    assert delivered == sorted(recipients)
    assert sum(tried) == len(recipients)
    assert left == []


@pytest.mark.parametrize("turns", range(3))
async def test_the_worker_stops_when_woken_just_as_the_app_shuts_down(
    settings: Settings, migrated: str, turns: int
) -> None:
    """A wake-up racing the cancellation must not swallow it (as `asyncio.wait_for` does on
    Python 3.11), or shutting down waits for the worker until something cancels it again."""
    idle = {"outbox_worker": True, "outbox_poll_interval": 60.0, "database_url": migrated}
    polling = settings.model_copy(update=idle)
    engine = create_engine(polling)
    metrics = Metrics(lambda: None)
    try:
        async with asyncio.timeout(5):
            stopping = running_outbox(
                create_sessionmaker(engine), SmtpSender(polling), polling, metrics
            )
            async with stopping as worker:
                await asyncio.sleep(0.5)  # its first pass done, the worker waits to be woken
                worker.wake()
                for _ in range(turns):
                    await asyncio.sleep(0)
                stopping_at = time.monotonic()
    finally:
        await engine.dispose()

    assert time.monotonic() - stopping_at < 1


async def test_records_of_mail_given_up_on_go_after_outbox_keep_failed(
    settings: Settings, migrated: str
) -> None:
    failing = settings.model_copy(
        update={
            "smtp_port": free_port(),
            "outbox_max_attempts": 1,
            "outbox_keep_failed": timedelta(days=30),
            "database_url": migrated,
        }
    )
    engine = create_engine(failing)
    sessionmaker = create_sessionmaker(engine)
    sender, metrics = SmtpSender(failing), Metrics(lambda: None)

    async def give_up(recipient: str, clock: Clock) -> None:
        async with sessionmaker.begin() as session:
            await build_outbox_service(session, failing, clock).queue(
                Message(to=recipient, subject="s", text="t", html="<p>h</p>")
            )
        await OutboxWorker(sessionmaker, sender, failing, metrics, clock).deliver_due()

    try:
        await give_up("old@example.com", lambda: utcnow() - timedelta(days=31))
        await give_up("recent@example.com", lambda: utcnow() - timedelta(days=29))
        await give_up("now@example.com", utcnow)
        async with sessionmaker() as session:
            kept = (await session.scalars(select(OutboxMessage.recipient))).all()
    finally:
        await engine.dispose()

    assert sorted(kept) == ["now@example.com", "recent@example.com"]
