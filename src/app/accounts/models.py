import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow
from app.users.models import User


class Purpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - what a token is for, not a password
    EMAIL_VERIFICATION = "email_verification"
    EMAIL_CHANGE = "email_change"


class AccountToken(Base, UUIDPrimaryKeyMixin):
    """A single-use token mailed to a user (password reset, email verification, email
    change). Only its SHA-256 is stored; a new one of a purpose replaces the user's older ones,
    and using one deletes it."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_id_purpose", "user_id", "purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[Purpose] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address an email change goes to.
    new_email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="raise")
