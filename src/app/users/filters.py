from typing import Annotated, ClassVar

from app.core.filters import ListFilter, ListQuery, list_query
from app.identity.models import User


class UserFilter(ListFilter):
    """Query parameters of `GET /users`."""

    search: str | None = None
    is_active: bool | None = None

    sortable: ClassVar[tuple[str, ...]] = ("created_at", "updated_at", "email")

    class Constants(ListFilter.Constants):
        model = User
        search_model_fields = ["email", "full_name"]  # noqa: RUF012 - fastapi-filter API


UserListQuery = Annotated[ListQuery[UserFilter], list_query(UserFilter)]
