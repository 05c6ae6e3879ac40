import uuid
from typing import Annotated, ClassVar

from app.core.filters import ListFilter, ListQuery, list_query
from app.core.pagination import SortKey
from app.core.schemas import UTCDatetime
from app.identity.models import AuditEvent


class AuditFilter(ListFilter):
    """Query parameters of `GET /audit-events`: the range `at__gte` ≤ at < `at__lt`."""

    action: str | None = None
    actor_id: uuid.UUID | None = None
    subject_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    at__gte: UTCDatetime | None = None
    at__lt: UTCDatetime | None = None

    sortable: ClassVar[tuple[str, ...]] = ("at",)
    default_sort: ClassVar[tuple[SortKey, ...]] = (SortKey("at", descending=True),)

    class Constants(ListFilter.Constants):
        model = AuditEvent


class OrgAuditFilter(ListFilter):
    """Query parameters of `GET /orgs/{org_id}/audit-events`."""

    action: str | None = None
    actor_id: uuid.UUID | None = None
    subject_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    at__gte: UTCDatetime | None = None
    at__lt: UTCDatetime | None = None

    sortable: ClassVar[tuple[str, ...]] = ("at",)
    default_sort: ClassVar[tuple[SortKey, ...]] = (SortKey("at", descending=True),)

    class Constants(ListFilter.Constants):
        model = AuditEvent


class SecurityEventFilter(ListFilter):
    """Query parameters of `GET /users/me/security-events`."""

    action: str | None = None
    at__gte: UTCDatetime | None = None
    at__lt: UTCDatetime | None = None

    sortable: ClassVar[tuple[str, ...]] = ("at",)
    default_sort: ClassVar[tuple[SortKey, ...]] = (SortKey("at", descending=True),)

    class Constants(ListFilter.Constants):
        model = AuditEvent


AuditListQuery = Annotated[ListQuery[AuditFilter], list_query(AuditFilter)]
OrgAuditListQuery = Annotated[ListQuery[OrgAuditFilter], list_query(OrgAuditFilter)]
SecurityEventListQuery = Annotated[ListQuery[SecurityEventFilter], list_query(SecurityEventFilter)]
