import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow


class Passkey(Base, UUIDPrimaryKeyMixin):
    """A WebAuthn credential of a user, kept by their device: its public key and the
    signature counter it last reported (a clone's counter falls behind)."""

    __tablename__ = "passkeys"
    __table_args__ = (Index("ix_passkeys_user_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(100))
    # Synced between the user's devices (iCloud Keychain, Google Password Manager).
    backed_up: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class PasskeyChallenge(Base, UUIDPrimaryKeyMixin):
    """The random challenge of one registration or assertion: used once, then gone; it
    expires. A registration's or a reauthentication's belongs to the user asking."""

    __tablename__ = "passkey_challenges"
    __table_args__ = (Index("ix_passkey_challenges_expires_at", "expires_at"),)

    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    purpose: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    expires_at: Mapped[datetime]
