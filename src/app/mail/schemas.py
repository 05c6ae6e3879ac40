import uuid

from pydantic import BaseModel


class MailDelivery(BaseModel):
    """The payload of a `mail.deliver` job: the outbox row it delivers."""

    message_id: uuid.UUID
