from sqlalchemy.ext.asyncio import AsyncSession

from app.core.request import Clock
from app.idempotency.repository import IdempotencyRepository
from app.idempotency.service import IdempotencyService


def build_idempotency_service(session: AsyncSession, clock: Clock) -> IdempotencyService:
    """The idempotency records of this unit of work, for services with idempotent creates."""
    return IdempotencyService(IdempotencyRepository(session), clock=clock)
