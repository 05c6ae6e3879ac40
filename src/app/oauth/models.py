import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow
from app.identity.models import User


class UserIdentity(Base, UUIDPrimaryKeyMixin):
    """An account at a sign-in provider (its `subject` there) that signs in as `user`."""

    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject"),
        Index("ix_user_identities_user_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    # What the provider last said the address is (it may differ from the account's).
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")


class OAuthState(Base, UUIDPrimaryKeyMixin):
    """A sign-in under way at a provider: single-use, expiring, and bound to the browser that
    started it (the hash of a cookie it holds). Only hashes of the state and the cookie are
    kept; the nonce and PKCE verifier must be read back, and die with the row."""

    __tablename__ = "oauth_states"
    __table_args__ = (Index("ix_oauth_states_expires_at", "expires_at"),)

    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(40))
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_to: Mapped[str] = mapped_column(String(2000))
    # Set when a signed-in user links this provider's account to theirs.
    link_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    expires_at: Mapped[datetime]


class CodePurpose(StrEnum):
    # The end of a provider sign-in, exchanged for a session.
    LOGIN = "login"
    # A signed-in user's ticket to start linking a provider's account in their browser.
    LINK = "link"


class OAuthCode(Base, UUIDPrimaryKeyMixin):
    """A short-lived single-use code for `user` (only its SHA-256 is kept)."""

    __tablename__ = "oauth_codes"
    __table_args__ = (Index("ix_oauth_codes_expires_at", "expires_at"),)

    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[CodePurpose] = mapped_column(String(10))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="raise")
