from typing import Annotated

from fastapi import Depends, Request

from app.core.db import SessionDep
from app.core.request import ClockDep
from app.idempotency.repository import IdempotencyRepository
from app.idempotency.service import IdempotencyService
from app.items.repository import ItemRepository
from app.items.service import ItemService


async def get_item_service(request: Request, session: SessionDep, clock: ClockDep) -> ItemService:
    idempotency = IdempotencyService(IdempotencyRepository(session), clock=clock)
    return ItemService(
        ItemRepository(session),
        idempotency=idempotency,
        require_if_match=request.app.state.settings.require_if_match,
    )


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
