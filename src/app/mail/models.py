from datetime import datetime

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow


class OutboxMessage(Base, UUIDPrimaryKeyMixin):
    """A mail to deliver, written in the unit of work that decided to send it. Deleted once
    the SMTP server took it; after the last failed try its body is wiped (it may hold a link
    with a token) and the row kept as a record. A row with a `composer` is a mail to write
    when it is due (a password reset: whether the address has an account is decided then)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index(
            "ix_mail_outbox_due",
            "next_attempt_at",
            postgresql_where=text("failed_at IS NULL"),
            sqlite_where=text("failed_at IS NULL"),
        ),
    )

    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # Set while the mail is still to be written, when due, by the composer of this name.
    composer: Mapped[str | None] = mapped_column(String(50), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it may next be tried; a claimed message is leased by moving this forward.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
