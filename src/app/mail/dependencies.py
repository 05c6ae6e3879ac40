from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.metrics import Metrics
from app.core.models import utcnow
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.jobs.definitions import JobContext, JobRegistry
from app.jobs.dependencies import build_job_service
from app.mail.jobs import MAIL_DELIVERY
from app.mail.repository import OutboxRepository
from app.mail.service import OutboxService, RecipientLimit


def build_outbox_service(
    session: AsyncSession,
    settings: Settings,
    registry: JobRegistry,
    clock: Clock = utcnow,
    *,
    limiter: RateLimiter | None = None,
    metrics: Metrics | None = None,
) -> OutboxService:
    """With a `limiter` and `metrics` (what queues mail for requests), at most
    `RATE_LIMIT_MAIL_RECIPIENT` mails go to one address."""
    recipient_limit = None
    if limiter is not None and metrics is not None:
        recipient_limit = RecipientLimit(limiter, settings.rate_limit_mail_recipient, metrics)
    return OutboxService(
        OutboxRepository(session),
        jobs=build_job_service(session, settings, registry, clock),
        delivery=MAIL_DELIVERY,
        keep_failed=settings.outbox_keep_failed,
        clock=clock,
        recipient_limit=recipient_limit,
    )


def job_outbox(session: AsyncSession, context: JobContext) -> OutboxService:
    """The outbox in a unit of work of a running job (`Postman.outbox`)."""
    return build_outbox_service(session, context.settings, context.registry, context.clock)
