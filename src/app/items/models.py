import uuid

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import (
    Base,
    SoftDeleteMixin,
    TimestampMixin,
    UUIDPrimaryKeyMixin,
    VersionMixin,
)

LIVE = text("deleted_at IS NULL")


def _live_index(name: str, *columns: str) -> Index:
    """An index over live rows only, in the order a list query walks them (`id` breaks ties)."""
    return Index(name, *columns, "id", postgresql_where=LIVE, sqlite_where=LIVE)


class Item(Base, UUIDPrimaryKeyMixin, TimestampMixin, SoftDeleteMixin, VersionMixin):
    __tablename__ = "items"
    __table_args__ = (
        _live_index("ix_items_owner_created_at", "owner_id", "created_at"),
        _live_index("ix_items_owner_title", "owner_id", "title"),
        _live_index("ix_items_owner_updated_at", "owner_id", "updated_at"),
        _live_index("ix_items_created_at", "created_at"),
    )

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
