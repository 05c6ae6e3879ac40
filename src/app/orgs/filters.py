from typing import Annotated, ClassVar

from app.core.filters import ListQuery, TimestampFilter, list_query
from app.identity.models import Membership, Organisation


class OrgFilter(TimestampFilter):
    """Query parameters of `GET /orgs`."""

    search: str | None = None

    sortable: ClassVar[tuple[str, ...]] = ("created_at", "name", "slug")

    class Constants(TimestampFilter.Constants):
        model = Organisation
        search_model_fields = ["name", "slug"]  # noqa: RUF012 - fastapi-filter API


class MemberFilter(TimestampFilter):
    """Query parameters of `GET /orgs/{org_id}/members`: `created_at` is when they joined."""

    class Constants(TimestampFilter.Constants):
        model = Membership


OrgListQuery = Annotated[ListQuery[OrgFilter], list_query(OrgFilter)]
MemberListQuery = Annotated[ListQuery[MemberFilter], list_query(MemberFilter)]
