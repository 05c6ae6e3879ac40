from typing import Annotated, ClassVar

from app.core.filters import ListQuery, TimestampFilter, list_query
from app.jobs.models import Job, JobState


class JobFilter(TimestampFilter):
    """Query parameters of `GET /jobs`."""

    state: JobState | None = None
    name: str | None = None
    queue: str | None = None

    sortable: ClassVar[tuple[str, ...]] = ("created_at", "run_at")

    class Constants(TimestampFilter.Constants):
        model = Job


JobListQuery = Annotated[ListQuery[JobFilter], list_query(JobFilter)]
