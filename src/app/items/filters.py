from typing import ClassVar

from app.core.filters import OwnedFilter
from app.items.models import Item


class ItemFilter(OwnedFilter):
    """Query parameters of `GET /items`; `owner_id` is for superusers only."""

    search: str | None = None
    is_active: bool | None = None

    sortable: ClassVar[tuple[str, ...]] = ("created_at", "title", "updated_at")

    class Constants(OwnedFilter.Constants):
        model = Item
        search_model_fields = ["title", "description"]  # noqa: RUF012 - fastapi-filter API
