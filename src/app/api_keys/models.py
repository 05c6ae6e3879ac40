import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow

if TYPE_CHECKING:
    from app.users.models import User

# What every key starts with, so that secret scanners (and people) recognise one.
KEY_PREFIX = "app_live_"


class ApiKey(Base, UUIDPrimaryKeyMixin):
    """A personal credential for machines. The key itself is never stored, only its SHA-256;
    `prefix` (its first characters) tells keys apart in lists."""

    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped["User"] = relationship(lazy="raise")
