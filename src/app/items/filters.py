import uuid
from typing import Annotated, ClassVar

from app.core.filters import ListFilter, ListQuery, list_query
from app.core.schemas import UTCDatetime
from app.items.models import Item


class ItemFilter(ListFilter):
    """Query parameters of `GET /items`; `owner_id` is for superusers only."""

    search: str | None = None
    is_active: bool | None = None
    created_at__gte: UTCDatetime | None = None
    created_at__lt: UTCDatetime | None = None
    owner_id: uuid.UUID | None = None
    order_by: list[str] | None = None

    sortable: ClassVar[tuple[str, ...]] = ("created_at", "title", "updated_at")

    class Constants(ListFilter.Constants):
        model = Item
        search_model_fields = ["title", "description"]  # noqa: RUF012 - fastapi-filter API


ItemListQuery = Annotated[ListQuery[ItemFilter], list_query(ItemFilter)]
