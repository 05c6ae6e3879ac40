import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from app.core.schemas import Page, ResponseSchema


class AuditEventRead(ResponseSchema):
    id: uuid.UUID
    at: datetime
    action: str = Field(description="What was done (`auth.login`, `session.revoked`, …)")
    actor_id: uuid.UUID | None = Field(description="The user who did it, when one did")
    api_key_id: uuid.UUID | None = Field(description="The API key they acted with, if any")
    subject_id: uuid.UUID | None = Field(description="The user it concerns")
    org_id: uuid.UUID | None
    target_type: str | None = Field(description="What it was done to: `session`, `user`, …")
    target_id: str | None
    ip: str | None = Field(description="The client's address")
    user_agent: str | None
    request_id: str | None = Field(description="The `X-Request-ID` of the request")
    details: dict[str, Any]


class AuditEventPage(Page[AuditEventRead]):
    pass


class SecurityEventRead(ResponseSchema):
    """One of your own security events: enough to spot a stranger."""

    id: uuid.UUID
    at: datetime
    action: str
    ip: str | None
    user_agent: str | None
    by_you: bool = Field(
        default=False, description="Whether you did it (false: someone else, or nobody signed in)"
    )


class SecurityEventPage(Page[SecurityEventRead]):
    pass
