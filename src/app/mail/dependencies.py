from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.models import utcnow
from app.core.request import Clock
from app.mail.repository import OutboxRepository
from app.mail.service import OutboxPolicy, OutboxService


def build_outbox_service(
    session: AsyncSession, settings: Settings, clock: Clock = utcnow
) -> OutboxService:
    policy = OutboxPolicy(
        max_attempts=settings.outbox_max_attempts,
        retry_delay=timedelta(seconds=settings.outbox_retry_delay),
        lease=timedelta(seconds=2 * settings.smtp_timeout + 30),
        keep_failed=settings.outbox_keep_failed,
    )
    return OutboxService(OutboxRepository(session), policy=policy, clock=clock)
