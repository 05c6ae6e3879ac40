from typing import ClassVar

from app.core.filters import TimestampFilter
from app.projects.models import Project


class ProjectFilter(TimestampFilter):
    """Query parameters of `GET /orgs/{org_id}/projects`."""

    search: str | None = None

    sortable: ClassVar[tuple[str, ...]] = ("created_at", "name", "updated_at")

    class Constants(TimestampFilter.Constants):
        model = Project
        search_model_fields = ["name", "description"]  # noqa: RUF012 - fastapi-filter API
