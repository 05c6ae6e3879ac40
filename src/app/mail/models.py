from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, UUIDPrimaryKeyMixin, utcnow


class OutboxMessage(Base, UUIDPrimaryKeyMixin):
    """A mail to deliver, written in the unit of work that decided to send it, with the job
    that delivers it (`mail.deliver`). Deleted once the SMTP server took it; after the last
    failed try its body is wiped (it may hold a link with a token) and the row kept as a
    record. A row with a `composer` is a mail to write when it is due (a password reset:
    whether the address has an account is decided then)."""

    __tablename__ = "mail_outbox"

    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # Set while the mail is still to be written, when due, by the composer of this name.
    composer: Mapped[str | None] = mapped_column(String(50), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
