import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow


class TotpFactor(Base):
    """A user's authenticator app: its seed (encrypted, see `core/crypto.py`), on once
    confirmed with a first code. `last_step` is the time step of the last code accepted: a
    code is good once."""

    __tablename__ = "totp_factors"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(500))
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base, UUIDPrimaryKeyMixin):
    """A single-use code for when the authenticator is lost (only its SHA-256 is kept)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class MfaChallenge(Base, UUIDPrimaryKeyMixin):
    """A sign-in whose password was right, waiting for its second factor: the `mfa_token`
    (its SHA-256 kept) is single-use, expires, and dies after too many wrong codes."""

    __tablename__ = "mfa_challenges"
    __table_args__ = (Index("ix_mfa_challenges_expires_at", "expires_at"),)

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    failures: Mapped[int] = mapped_column(default=0)
    # A stronger hash of the password, when its parameters changed: applied once passed.
    new_password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    expires_at: Mapped[datetime]
