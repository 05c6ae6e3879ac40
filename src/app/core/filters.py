"""The base of every list filter (fastapi-filter), with a safe `search`."""

from typing import Any, ClassVar

from fastapi_filter.contrib.sqlalchemy import Filter
from pydantic import field_validator
from sqlalchemy import Select, or_

from app.core.pagination import SortKey, parse_order_by
from app.core.schemas import refuse_nul


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ListFilter(Filter):
    """fastapi-filter's conventions, plus two guarantees.

    `search` is a case-insensitive *contains* on `Constants.search_model_fields` in which `%`
    and `_` are literal characters, and `order_by` accepts only `sortable` fields.
    """

    sortable: ClassVar[tuple[str, ...]] = ("created_at",)
    default_sort: ClassVar[tuple[SortKey, ...]] = (SortKey("created_at", descending=True),)

    _refuse_nul = field_validator("*", mode="before")(refuse_nul)

    def filter(self, query: Any) -> Any:
        search = getattr(self, self.Constants.search_field_name, None)
        if search is None or not hasattr(self.Constants, "search_model_fields"):
            return super().filter(query)
        pattern = f"%{escape_like(search)}%"
        fields = [
            getattr(self.Constants.model, name) for name in self.Constants.search_model_fields
        ]
        without_search = self.model_copy(update={self.Constants.search_field_name: None})
        filtered: Select[Any] = super(ListFilter, without_search).filter(query)
        return filtered.where(or_(*(field.ilike(pattern, escape="\\") for field in fields)))

    def sort_keys(self) -> tuple[SortKey, ...]:
        values = getattr(self, self.Constants.ordering_field_name, None)
        return parse_order_by(values, allowed=self.sortable, default=self.default_sort)
