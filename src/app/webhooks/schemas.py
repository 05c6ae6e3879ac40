import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints

from app.core.schemas import Page, PatchSchema, RequestSchema, ResponseSchema
from app.webhooks.models import DeliveryState

Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    Field(
        description="Where events are POSTed: `https` in production, never to a private, "
        "loopback or link-local address",
        examples=["https://example.com/hooks/app"],
    ),
]


def _unique(events: list[str]) -> list[str]:
    return sorted(set(events))


Events = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=100)]],
    Field(
        min_length=1,
        max_length=100,
        description="The event types it receives (`item.created`, …)",
        examples=[["item.created", "item.updated"]],
    ),
    AfterValidator(_unique),
]
Description = Annotated[str, StringConstraints(max_length=500)]


class WebhookCreate(RequestSchema):
    url: Url
    events: Events
    description: Description | None = None


class WebhookUpdate(PatchSchema):
    not_null = ("url", "events", "enabled")

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: StrictBool | None = Field(
        default=None, description="`true` turns a disabled endpoint on again"
    )


class WebhookRead(ResponseSchema):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why it was disabled, when it was")
    failures: int = Field(description="Tries failed in a row since its last success")
    previous_until: datetime | None = Field(
        description="Until when the secret it had before its last rotation still signs"
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (`whsec_…`): shown this once", examples=["whsec_…"]
    )


class WebhookSecret(BaseModel):
    secret: str = Field(description="The new signing secret: shown this once")
    previous_until: datetime = Field(
        description="Until then deliveries carry a signature with the previous secret too"
    )


class DeliveryRead(ResponseSchema):
    id: uuid.UUID = Field(description="The `webhook-id` it is sent with")
    endpoint_id: uuid.UUID
    event_type: str
    state: DeliveryState
    attempts: int = Field(description="Tries so far")
    response_status: int | None = Field(description="The HTTP status of the last try's answer")
    response_body: str | None = Field(description="The start of the last try's answer")
    error: str | None = Field(description="Why the last try failed")
    created_at: datetime
    attempted_at: datetime | None
    delivered_at: datetime | None


class DeliveryPage(Page[DeliveryRead]):
    pass


class WebhookDelivery(BaseModel):
    """The payload of a `webhooks.deliver` job. The organisation, for an organisation's
    endpoint, binds the job's unit of work to it (row-level security)."""

    delivery_id: uuid.UUID
    org_id: uuid.UUID | None = None
