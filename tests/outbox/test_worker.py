"""The mail outbox, delivered by `mail.deliver` jobs against real SMTP servers: mail queued
while the server is down is delivered once it is back, a message that keeps failing is given up
(log line, metric and record), and two processes' workers deliver each message exactly once."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.metrics import Metrics
from app.core.models import utcnow
from app.core.ratelimit import create_rate_limiter
from app.core.request import Clock
from app.core.security import PasswordHasher
from app.job_types import job_registry, job_resources
from app.jobs.metrics import JobMetrics
from app.jobs.models import ENDED, Job, JobState
from app.jobs.worker import running_worker
from app.mail.dependencies import build_outbox_service
from app.mail.jobs import MAIL_DELIVERY
from app.mail.models import OutboxMessage
from app.mail.sender import Message
from tests.conftest import LogCapture, http_client, running_app
from tests.live import free_port
from tests.mail import SmtpServer, token_in
from tests.users.factories import DEFAULT_PASSWORD, unique_email

FAST = {
    "jobs_worker": True,
    "jobs_poll_interval": 0.1,
    "outbox_retry_delay": 0.1,
    "smtp_timeout": 2.0,
}


@asynccontextmanager
async def delivering(
    settings: Settings, engine: AsyncEngine, clock: Clock = utcnow
) -> AsyncIterator[Metrics]:
    """A job worker of the app's job types (as `app worker` runs them) on `engine`; its
    metrics."""
    metrics = Metrics(lambda: None)
    registry = job_registry(settings)
    resources = job_resources(
        settings,
        registry,
        metrics=metrics,
        hasher=PasswordHasher.from_settings(settings),
        limiter=create_rate_limiter(settings, None),
    )
    sessionmaker = create_sessionmaker(engine)
    async with running_worker(
        engine,
        sessionmaker,
        registry,
        settings,
        JobMetrics(metrics),
        clock=clock,
        resources=resources,
    ):
        yield metrics


async def until_mail_jobs(
    sessionmaker: async_sessionmaker[AsyncSession],
    done: Callable[[Job], bool],
    seconds: float = 20,
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        async with sessionmaker() as session:
            statement = select(Job).where(Job.name == MAIL_DELIVERY.name)
            jobs = (await session.scalars(statement)).all()
        if jobs and all(done(job) for job in jobs):
            return
        assert time.monotonic() < deadline, [(job.state, job.attempts) for job in jobs]
        await asyncio.sleep(0.02)


def ended(job: Job) -> bool:
    return job.state in ENDED


def tried(job: Job) -> bool:
    return job.attempts >= 1 and job.state != JobState.RUNNING


async def queue(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *recipients: str,
    clock: Clock = utcnow,
) -> None:
    """Rows as a request would write them (also for addresses the API now refuses: older
    rows), each with its job."""
    async with sessionmaker.begin() as session:
        outbox = build_outbox_service(session, settings, job_registry(settings), clock)
        for recipient in recipients:
            await outbox.queue(
                Message(to=recipient, subject="s", text="token=secret-link", html="<p>h</p>")
            )


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


async def test_a_message_that_keeps_failing_is_given_up(
    settings: Settings, migrated: str, logs: LogCapture
) -> None:
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
    try:
        await queue(sessionmaker, failing, recipient)
        async with delivering(failing, engine) as metrics:
            await until_mail_jobs(sessionmaker, ended)
        async with sessionmaker() as session:
            statement = select(OutboxMessage).where(OutboxMessage.recipient == recipient)
            kept = (await session.scalars(statement)).one()
            job = (await session.scalars(select(Job))).one()
    finally:
        await engine.dispose()

    assert (kept.attempts, kept.text_body, kept.html_body) == (2, None, None)
    assert kept.failed_at is not None
    events = [entry["event"] for entry in logs.records() if str(entry["event"]).startswith("mail_")]
    assert events == ["mail_send_failed", "mail_given_up"]
    assert metrics.mail_failures._value.get() == 2
    assert metrics.mail_given_up._value.get() == 1
    assert (job.state, job.attempts) == (JobState.DEAD, 2)
    assert (job.last_error or "").startswith("MailNotSentError: ")


async def test_two_processes_deliver_each_message_once(settings: Settings, migrated: str) -> None:
    server = SmtpServer().start()
    sending = settings.model_copy(
        update={**FAST, "smtp_port": server.port, "database_url": migrated}
    )
    recipients = [f"outbox-{n}@example.com" for n in range(40)]
    engines = [create_engine(sending), create_engine(sending)]
    sessionmaker = create_sessionmaker(engines[0])
    try:
        async with (
            delivering(sending, engines[0]) as first,
            delivering(sending, engines[1]) as second,
        ):
            await queue(sessionmaker, sending, *recipients)
            await until_mail_jobs(sessionmaker, ended, seconds=60)
        async with sessionmaker() as session:
            left = (await session.scalars(select(OutboxMessage))).all()
    finally:
        server.stop()
        for each in engines:
            await each.dispose()

    delivered = sorted(str(message["To"]) for message in server.mailbox.messages)
    assert delivered == sorted(recipients)
    sent = [metrics.mail_sent._value.get() for metrics in (first, second)]
    assert sum(sent) == len(recipients)
    assert left == []


async def test_records_of_mail_given_up_on_go_after_outbox_keep_failed(
    settings: Settings, migrated: str
) -> None:
    failing = settings.model_copy(
        update={
            **FAST,
            "smtp_port": free_port(),
            "outbox_max_attempts": 1,
            "outbox_keep_failed": timedelta(days=30),
            "database_url": migrated,
        }
    )
    engine = create_engine(failing)
    sessionmaker = create_sessionmaker(engine)

    async def give_up(recipient: str, clock: Clock) -> None:
        await queue(sessionmaker, failing, recipient, clock=clock)
        async with delivering(failing, engine, clock):
            await until_mail_jobs(sessionmaker, ended)

    try:
        await give_up("old@example.com", lambda: utcnow() - timedelta(days=31))
        await give_up("recent@example.com", lambda: utcnow() - timedelta(days=29))
        await give_up("now@example.com", utcnow)
        async with sessionmaker() as session:
            kept = (await session.scalars(select(OutboxMessage.recipient))).all()
    finally:
        await engine.dispose()

    assert sorted(kept) == ["now@example.com", "recent@example.com"]


@pytest.fixture
async def own_smtp() -> AsyncIterator[SmtpServer]:
    """An SMTP server of the test's own, which it may slow down or make refuse."""
    server = SmtpServer().start()
    yield server
    server.stop()


class TestOneBadMessage:
    async def test_any_failure_is_recorded_against_it_and_the_worker_goes_on(
        self, settings: Settings, migrated: str, own_smtp: SmtpServer
    ) -> None:
        """An address the mail library cannot put in a header (a CR/LF hidden in an encoded
        word) used to end the worker's task, silently, on every instance that claimed it."""
        sending = settings.model_copy(
            update={**FAST, "smtp_port": own_smtp.port, "database_url": migrated}
        )
        good, bad = unique_email(), f"=?x?q?a=0d=0ab?={unique_email()}"
        async with running_app(sending) as app, http_client(app) as client:
            await queue(app.state.sessionmaker, sending, bad, good)
            await own_smtp.mailbox.wait_for(good)
            await until_mail_jobs(app.state.sessionmaker, ended)
            ready = await client.get("/health/ready")
            async with app.state.sessionmaker() as session:
                statement = select(OutboxMessage).where(OutboxMessage.recipient == bad)
                kept = (await session.scalars(statement)).one()

        assert kept.failed_at is not None
        assert (kept.last_error or "").startswith("UndeliverableAddressError")
        assert app.state.metrics.mail_given_up._value.get() == 1
        assert ready.status_code == 200
        assert ready.json()["checks"]["jobs"] == "ok"

    async def test_a_stalled_worker_makes_the_instance_unready(
        self, settings: Settings, migrated: str
    ) -> None:
        # Idle between passes, so that no pass shows a sign of life meanwhile.
        idle = {**FAST, "jobs_poll_interval": 60.0, "database_url": migrated}
        async with running_app(settings.model_copy(update=idle)) as app, http_client(app) as client:
            await asyncio.sleep(0.2)  # past its first pass
            app.state.jobs_worker.last_beat -= 3600  # as if its loop had hung an hour ago
            ready = await client.get("/health/ready")

        assert ready.status_code == 503
        assert "jobs" in ready.json()["detail"]

    async def test_an_address_mail_would_rewrite_is_given_up_never_sent_elsewhere(
        self, settings: Settings, migrated: str, own_smtp: SmtpServer
    ) -> None:
        """`=?x?q?victim?=@corp.com` decodes to `victim@corp.com`, in the header and in the
        SMTP client's envelope alike (the API refuses such addresses now; older rows may hold
        one)."""
        sending = settings.model_copy(update={"smtp_port": own_smtp.port, "database_url": migrated})

        tried = await try_once(sending, "=?x?q?victim?=@corp.example")

        assert tried.row is not None
        assert tried.row.failed_at is not None
        assert own_smtp.mailbox.envelopes == []


@dataclass
class Tried:
    """One message queued and one try of its job: its row after (None once sent), the try's
    duration and the worker's metrics."""

    row: OutboxMessage | None
    row_id: uuid.UUID
    seconds: float
    metrics: Metrics


async def try_once(settings: Settings, recipient: str) -> Tried:
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    by_recipient = select(OutboxMessage).where(OutboxMessage.recipient == recipient)
    try:
        await queue(sessionmaker, settings, recipient)
        async with sessionmaker() as session:
            row_id = (await session.scalars(by_recipient)).one().id
        async with delivering(settings, engine) as metrics:
            started = time.monotonic()
            await until_mail_jobs(sessionmaker, tried)
            seconds = time.monotonic() - started
        async with sessionmaker() as session:
            row = (await session.scalars(by_recipient)).one_or_none()
    finally:
        await engine.dispose()
    return Tried(row, row_id, seconds, metrics)


class TestSmtpExchange:
    async def test_each_mail_is_dated_identified_and_marked_automatic(
        self, settings: Settings, migrated: str, own_smtp: SmtpServer
    ) -> None:
        sending = settings.model_copy(update={"smtp_port": own_smtp.port, "database_url": migrated})
        recipient = unique_email()

        tried = await try_once(sending, recipient)

        (mail,) = own_smtp.mailbox.to(recipient)
        assert mail["Auto-Submitted"] == "auto-generated"
        # The outbox row's id: a retry carries the same one, so receivers can drop a repeat.
        assert mail["Message-ID"] == f"<{tried.row_id}@example.com>"
        sent_at = parsedate_to_datetime(str(mail["Date"]))
        assert abs((sent_at - utcnow()).total_seconds()) < 60

    async def test_a_slow_exchange_is_cut_off_before_its_lease_ends(
        self, settings: Settings, migrated: str, own_smtp: SmtpServer
    ) -> None:
        """Each reply just under `SMTP_TIMEOUT`, so no single wait times out: the whole
        exchange is bounded by it, and the lease (`SMTP_TIMEOUT` + 30 s) outlasts it."""
        own_smtp.mailbox.delay = 0.4
        sending = settings.model_copy(
            update={"smtp_port": own_smtp.port, "smtp_timeout": 0.5, "database_url": migrated}
        )
        recipient = unique_email()

        tried = await try_once(sending, recipient)

        assert tried.seconds < 0.5 + 0.4
        assert tried.row is not None
        assert (tried.row.attempts, (tried.row.last_error or "").split(":")[0]) == (
            1,
            "TimeoutError",
        )
        assert own_smtp.mailbox.to(recipient) == []

    async def test_a_permanent_refusal_is_given_up_at_once_and_logged_masked(
        self, settings: Settings, migrated: str, own_smtp: SmtpServer, logs: LogCapture
    ) -> None:
        own_smtp.mailbox.refusal = "550 5.1.1 No such user"
        sending = settings.model_copy(update={"smtp_port": own_smtp.port, "database_url": migrated})
        recipient = unique_email()

        tried = await try_once(sending, recipient)

        assert tried.row is not None
        assert (tried.row.attempts, tried.row.failed_at is not None) == (1, True)
        assert tried.metrics.mail_given_up._value.get() == 1
        (given_up,) = [entry for entry in logs.records() if entry["event"] == "mail_given_up"]
        assert given_up["recipient"] == f"{recipient[0]}***@example.com"
        assert str(given_up["error"]).startswith("SMTPRecipientsRefused")
        ours = [entry for entry in logs.records() if str(entry["logger"]).startswith("app")]
        assert [entry for entry in ours if recipient in orjson.dumps(entry).decode()] == []
        assert recipient not in (tried.row.last_error or "")
