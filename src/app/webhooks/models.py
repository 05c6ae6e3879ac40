import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, TimestampMixin, UUIDPrimaryKeyMixin, utcnow


@dataclass(frozen=True)
class Owner:
    """Whose endpoints: a user's (`column` is `owner_id`) or an organisation's (`org_id`)."""

    column: str
    id: uuid.UUID
    # The user acting for the owner (None: an organisation's API key).
    actor: uuid.UUID | None = field(default=None, compare=False)

    @property
    def org_id(self) -> uuid.UUID | None:
        return self.id if self.column == "org_id" else None


class Endpoint(Base, UUIDPrimaryKeyMixin, TimestampMixin):
    """A URL that receives a user's or an organisation's events (exactly one of the two owns
    it), signed with its secret. The previous secret signs too until `previous_until`, so a
    receiver can switch over. Tries failed in a row are counted since `failing_since`; past the
    limits the endpoint is disabled."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("(owner_id IS NULL) <> (org_id IS NULL)", name="one_owner"),
        Index("ix_webhook_endpoints_owner_id", "owner_id"),
        Index("ix_webhook_endpoints_org_id", "org_id"),
    )

    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), default=None
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_until: Mapped[datetime | None] = mapped_column(default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    failures: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)


class DeliveryState(StrEnum):
    """`pending` (queued, or between tries) → `delivered` (a 2xx answer) or `failed` (out of
    tries, refused for good, or its endpoint disabled); a retry makes it `pending` again."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(Base, UUIDPrimaryKeyMixin):
    """One event for one endpoint: the exact body it is sent (and signed) with, its `id` the
    `webhook-id` a receiver de-duplicates by, and what the last try got."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),)

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    response_status: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    response_body: Mapped[str | None] = mapped_column(String(1000), default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempted_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
