from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import service_dependency
from app.core.models import utcnow
from app.core.request import Clock
from app.idempotency.dependencies import build_idempotency_service
from app.items.repository import ItemRepository
from app.items.service import ItemService


def build_item_service(
    session: AsyncSession, settings: Settings, clock: Clock = utcnow
) -> ItemService:
    """Also for code outside a request (the CLI, seeding)."""
    return ItemService(
        ItemRepository(session),
        idempotency=build_idempotency_service(session, clock),
        require_if_match=settings.require_if_match,
    )


get_item_service = service_dependency(build_item_service)
ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
