"""Items for tests."""

from datetime import datetime
from uuid import uuid4

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import User
from app.items.models import Item


async def create_item(
    session: AsyncSession,
    *,
    owner: User,
    title: str | None = None,
    description: str | None = None,
    is_active: bool = True,
    created_at: datetime | None = None,
    deleted_at: datetime | None = None,
) -> Item:
    item = Item(
        owner_id=owner.id,
        title=title or f"item {uuid4().hex[:8]}",
        description=description,
        is_active=is_active,
        deleted_at=deleted_at,
    )
    if created_at is not None:
        item.created_at = item.updated_at = created_at
    session.add(item)
    await session.commit()
    return item


async def item_count(session: AsyncSession, **where: object) -> int:
    statement = select(func.count()).select_from(Item).filter_by(**where)
    return int((await session.execute(statement)).scalar_one())
