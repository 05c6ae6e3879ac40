import uuid
from datetime import datetime

from pydantic import Field

from app.core.schemas import Page, ResponseSchema
from app.jobs.models import JobState


class JobRead(ResponseSchema):
    """A job as operators see it. Its payload is not shown: it may carry personal data."""

    id: uuid.UUID
    name: str
    queue: str
    state: JobState
    priority: int = Field(description="Among jobs due, higher runs first")
    run_at: datetime = Field(description="When it is due (its next try, for a retry)")
    attempts: int = Field(description="Tries started so far")
    max_attempts: int
    key: str | None = Field(description="Its de-duplication key: one ready job per key")
    worker: str | None = Field(description="The worker running it (host:pid:nonce)")
    lease_until: datetime | None
    last_error: str | None = Field(description="How its last failed try ended")
    created_at: datetime
    started_at: datetime | None = Field(description="When its latest try started")
    finished_at: datetime | None


class JobPage(Page[JobRead]):
    pass
