from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.request import Clock
from app.identity.dependencies import build_audit_log
from app.jobs.definitions import JobContext, JobRegistry
from app.jobs.dependencies import build_job_service
from app.mail.dependencies import build_outbox_service
from app.mail.sender import MailTemplates
from app.state import app_state
from app.webhooks.jobs import webhook_delivery
from app.webhooks.repository import DeliveryRepository, EndpointRepository
from app.webhooks.service import (
    Deliveries,
    DisabledNotice,
    WebhookFeed,
    WebhookPolicy,
    WebhookService,
)


def build_deliveries(
    session: AsyncSession, settings: Settings, clock: Clock = utcnow
) -> Deliveries:
    """Also for code outside a request: entity services in the CLI and seeding, the worker."""
    delivery = webhook_delivery(settings)
    return Deliveries(
        EndpointRepository(session),
        DeliveryRepository(session),
        jobs=build_job_service(session, settings, JobRegistry([delivery]), clock),
        delivery=delivery,
        clock=clock,
    )


def build_webhook_feed(session: AsyncSession, settings: Settings, clock: Clock) -> WebhookFeed:
    """What entity services tell their changes to (`entity_service`)."""
    return WebhookFeed(build_deliveries(session, settings, clock))


def build_webhook_service(
    session: AsyncSession, settings: Settings, clock: Clock = utcnow
) -> WebhookService:
    policy = WebhookPolicy(
        production=settings.is_production,
        allow_private=settings.webhooks_allow_private,
        disable_after=settings.webhooks_disable_after,
        disable_period=settings.webhooks_disable_period,
        secret_grace=settings.webhooks_secret_grace,
    )
    return WebhookService(
        build_deliveries(session, settings, clock),
        policy=policy,
        clock=clock,
        audit=build_audit_log(session, clock=clock),
    )


def job_webhooks(session: AsyncSession, context: JobContext) -> WebhookService:
    """The service in a unit of work of a running job (`Courier.service`)."""
    return build_webhook_service(session, context.settings, context.clock)


def disabled_notice(session: AsyncSession, context: JobContext) -> DisabledNotice:
    """The mail to an endpoint's owners, queued in a running job's unit of work."""
    outbox = build_outbox_service(session, context.settings, context.registry, context.clock)
    templates = MailTemplates("app.webhooks", context.settings)
    return DisabledNotice(EndpointRepository(session), outbox, templates)


async def get_webhook_service(request: Request, session: SessionDep) -> WebhookService:
    state = app_state(request)
    return build_webhook_service(session, state.settings, state.clock)


WebhookServiceDep = Annotated[WebhookService, Depends(get_webhook_service)]
