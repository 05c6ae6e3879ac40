"""Every job type and schedule of the app, listed: what the workers run, and what they need to
run them (their resources). Each feature declares its own next to the code they run; a job
whose type is not here is dead-lettered."""

from typing import Any

from app.accounts.dependencies import password_reset_composer
from app.accounts.service import PASSWORD_RESET_COMPOSER
from app.audit.jobs import PURGE_AUDIT, PURGE_AUDIT_SCHEDULE
from app.core.config import Settings
from app.core.metrics import Metrics
from app.core.ratelimit import RateLimiter
from app.core.security import PasswordHasher
from app.jobs.definitions import JobRegistry, JobType, Schedule
from app.jobs.maintenance import PURGE_JOBS, PURGE_SCHEDULE
from app.mail.dependencies import job_outbox
from app.mail.jobs import Postman, mail_delivery
from app.mail.sender import create_sender
from app.webhooks.dependencies import disabled_notice, job_webhooks
from app.webhooks.jobs import Courier, webhook_delivery
from app.webhooks.sender import WebhookSender

JOB_TYPES: tuple[JobType[Any], ...] = (PURGE_JOBS, PURGE_AUDIT)
SCHEDULES: tuple[Schedule, ...] = (PURGE_SCHEDULE, PURGE_AUDIT_SCHEDULE)


def job_registry(settings: Settings) -> JobRegistry:
    """`JOB_TYPES`, and those the settings configure."""
    return JobRegistry([*JOB_TYPES, mail_delivery(settings), webhook_delivery(settings)], SCHEDULES)


def job_resources(
    settings: Settings,
    registry: JobRegistry,
    *,
    metrics: Metrics,
    hasher: PasswordHasher,
    limiter: RateLimiter,
) -> dict[type, object]:
    """What the jobs of `registry` get from their process (`JobContext.resource`)."""
    composer = password_reset_composer(
        settings, registry=registry, hasher=hasher, limiter=limiter, metrics=metrics
    )
    postman = Postman(
        create_sender(settings),
        metrics,
        outbox=job_outbox,
        composers={PASSWORD_RESET_COMPOSER: composer},
    )
    courier = Courier(WebhookSender(settings), service=job_webhooks, notice=disabled_notice)
    return {Postman: postman, Courier: courier}
