import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow
from app.identity.models import User


class Purpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - what a token is for, not a password
    EMAIL_VERIFICATION = "email_verification"
    EMAIL_CHANGE = "email_change"
    # Mailed to the old address with an email change: its owner can call the change off.
    EMAIL_CHANGE_CANCEL = "email_change_cancel"


class AccountToken(Base, UUIDPrimaryKeyMixin):
    """A single-use token mailed to a user (password reset, email verification, email
    change). Only its SHA-256 is stored; a user has at most one of each purpose (a new one
    replaces the older, also when two are issued at once), using one deletes it, and every
    change of credentials kills it (its `security_stamp` is no longer the user's)."""

    __tablename__ = "account_tokens"
    __table_args__ = (UniqueConstraint("user_id", "purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[Purpose] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address an email change goes to.
    new_email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    security_stamp: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(lazy="raise")
