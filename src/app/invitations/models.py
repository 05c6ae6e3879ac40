import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow


class Invitation(Base, UUIDPrimaryKeyMixin):
    """A pending invitation to join an organisation with `roles`. The mailed token is never
    stored, only its SHA-256; accepting one deletes it."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("uq_invitations_org_id_email", "org_id", "email", unique=True),
        Index("ix_invitations_org_id_created_at", "org_id", "created_at", "id"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    roles: Mapped[list[str]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
