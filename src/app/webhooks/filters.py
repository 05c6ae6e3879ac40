from typing import Annotated

from app.core.filters import ListQuery, TimestampFilter, list_query
from app.webhooks.models import Delivery, DeliveryState


class DeliveryFilter(TimestampFilter):
    """Query parameters of `GET /webhooks/{webhook_id}/deliveries`."""

    state: DeliveryState | None = None
    event_type: str | None = None

    class Constants(TimestampFilter.Constants):
        model = Delivery


DeliveryListQuery = Annotated[ListQuery[DeliveryFilter], list_query(DeliveryFilter)]
