from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.request import Clock, ClockDep
from app.idempotency.repository import IdempotencyRepository
from app.idempotency.service import IdempotencyService
from app.items.repository import ItemRepository
from app.items.service import ItemService


def build_item_service(
    session: AsyncSession, settings: Settings, clock: Clock = utcnow
) -> ItemService:
    """Also for code outside a request (the CLI, seeding)."""
    idempotency = IdempotencyService(IdempotencyRepository(session), clock=clock)
    return ItemService(
        ItemRepository(session),
        idempotency=idempotency,
        require_if_match=settings.require_if_match,
    )


async def get_item_service(request: Request, session: SessionDep, clock: ClockDep) -> ItemService:
    return build_item_service(session, request.app.state.settings, clock)


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
