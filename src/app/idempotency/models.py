import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow


class IdempotencyKey(Base, UUIDPrimaryKeyMixin):
    """The first response to a request sent with an `Idempotency-Key`, kept for replays."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "scope", "key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    # Whose request: a user's id, or an organisation key's. No foreign key, since it names
    # either; records outlive neither by much (`KEY_LIFETIME`).
    user_id: Mapped[uuid.UUID]
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
