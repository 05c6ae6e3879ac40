"""`webhooks.deliver`: the job queued with each delivery, which posts it outside any
transaction and records what the endpoint answered."""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.jobs.definitions import Abandon, JobContext, JobType, Retry
from app.webhooks.schemas import WebhookDelivery
from app.webhooks.sender import WebhookSender
from app.webhooks.service import DisabledNotice, Recorded, WebhookService

logger = structlog.get_logger(__name__)

# The service, and the mail to owners of a disabled endpoint, in a running job's unit of work.
ServiceBuilder = Callable[[AsyncSession, JobContext], WebhookService]
NoticeBuilder = Callable[[AsyncSession, JobContext], DisabledNotice]


class WebhookNotDeliveredError(Exception):
    """A try failed; it is tried again."""


@dataclass(frozen=True)
class Courier:
    """What a process needs to deliver webhooks (a worker's resource)."""

    sender: WebhookSender
    service: ServiceBuilder
    notice: NoticeBuilder

    async def deliver(self, payload: WebhookDelivery, context: JobContext) -> None:
        """Raises when the try failed (after recording it): the job is retried, or dead
        after its last attempt, or at once when the refusal is for good."""
        async with context.sessionmaker.begin() as session:
            attempt = await self.service(session, context).attempt(payload)
        if attempt is None:
            return  # delivered by a try whose outcome was lost, given up, or gone
        result = await self.sender.send(attempt, context.clock())
        async with context.sessionmaker.begin() as session:
            recorded, disabled = await self.service(session, context).record(
                payload, result, attempt=context.attempt, last_try=context.last_try
            )
            if disabled is not None:
                await self.notice(session, context).send(disabled)
        if disabled is not None:
            logger.warning(
                "webhook_disabled", endpoint_id=str(disabled.id), failures=disabled.failures
            )
        if recorded is Recorded.RETRY:
            raise WebhookNotDeliveredError(result.error)
        if recorded is Recorded.FAILED:
            raise Abandon(result.error or "Not delivered")


async def _deliver(payload: WebhookDelivery, context: JobContext) -> None:
    await context.resource(Courier).deliver(payload, context)


WEBHOOK_DELIVERY = JobType(
    name="webhooks.deliver", payload=WebhookDelivery, run=_deliver, queue="webhooks"
)


def webhook_delivery(settings: Settings) -> JobType[WebhookDelivery]:
    """`WEBHOOK_DELIVERY` as the settings configure it: WEBHOOKS_MAX_ATTEMPTS tries, the first
    retry after WEBHOOKS_RETRY_DELAY, doubling (with jitter) up to an hour; each try bounded
    beyond WEBHOOKS_TIMEOUT, which bounds a whole exchange."""
    return dataclasses.replace(
        WEBHOOK_DELIVERY,
        max_attempts=settings.webhooks_max_attempts,
        retry=Retry(base=settings.webhooks_retry_delay, cap=3600.0),
        timeout=settings.webhooks_timeout + 30,
    )
