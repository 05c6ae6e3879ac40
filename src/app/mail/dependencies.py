from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.metrics import Metrics
from app.core.models import utcnow
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.mail.repository import OutboxRepository
from app.mail.service import OutboxPolicy, OutboxService, RecipientLimit


def build_outbox_service(
    session: AsyncSession,
    settings: Settings,
    clock: Clock = utcnow,
    *,
    limiter: RateLimiter | None = None,
    metrics: Metrics | None = None,
) -> OutboxService:
    """With a `limiter` and `metrics` (what queues mail for requests), at most
    `RATE_LIMIT_MAIL_RECIPIENT` mails go to one address."""
    policy = OutboxPolicy(
        max_attempts=settings.outbox_max_attempts,
        retry_delay=timedelta(seconds=settings.outbox_retry_delay),
        # `SmtpSender` bounds a whole exchange by `SMTP_TIMEOUT`.
        lease=timedelta(seconds=settings.smtp_timeout + 30),
        keep_failed=settings.outbox_keep_failed,
    )
    recipient_limit = None
    if limiter is not None and metrics is not None:
        recipient_limit = RecipientLimit(limiter, settings.rate_limit_mail_recipient, metrics)
    return OutboxService(
        OutboxRepository(session), policy=policy, clock=clock, recipient_limit=recipient_limit
    )
