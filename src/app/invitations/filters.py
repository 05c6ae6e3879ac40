from typing import Annotated

from app.core.filters import ListQuery, TimestampFilter, list_query
from app.invitations.models import Invitation


class InvitationFilter(TimestampFilter):
    """Query parameters of `GET /orgs/{org_id}/invitations`."""

    class Constants(TimestampFilter.Constants):
        model = Invitation


InvitationListQuery = Annotated[ListQuery[InvitationFilter], list_query(InvitationFilter)]
