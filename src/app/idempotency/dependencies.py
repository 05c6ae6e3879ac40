from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.entity_repository import EntityRepository
from app.core.models import utcnow
from app.core.request import Clock
from app.core.service import EntityService
from app.idempotency.repository import IdempotencyRepository
from app.idempotency.service import IdempotencyService
from app.webhooks.dependencies import build_webhook_feed

ServiceT = TypeVar("ServiceT", bound=EntityService[Any, Any, Any, Any], covariant=True)


def build_idempotency_service(session: AsyncSession, clock: Clock) -> IdempotencyService:
    """The idempotency records of this unit of work, for services with idempotent creates."""
    return IdempotencyService(IdempotencyRepository(session), clock=clock)


class ServiceBuilder(Protocol[ServiceT]):
    def __call__(
        self, session: AsyncSession, settings: Settings, clock: Clock = utcnow
    ) -> ServiceT: ...


def entity_service(
    service: type[ServiceT],
    repository: type[EntityRepository[Any, Any, Any, Any]],
) -> ServiceBuilder[ServiceT]:
    """How an entity's service is built from a unit of work, the settings and the clock (in a
    request, and outside one: the CLI, seeding): on its repository, with the idempotency
    records of its creates, under `REQUIRE_IF_MATCH`, telling its changes to webhooks."""

    def build(session: AsyncSession, settings: Settings, clock: Clock = utcnow) -> ServiceT:
        return service(
            repository(session),
            idempotency=build_idempotency_service(session, clock),
            require_if_match=settings.require_if_match,
            feed=build_webhook_feed(session, settings, clock),
        )

    return build
