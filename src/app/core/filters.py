"""The base of every list filter (fastapi-filter), with a safe `search`."""

import inspect
from typing import Any, ClassVar

from fastapi import Depends
from fastapi_filter import FilterDepends
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


def filter_params(filter_class: type[ListFilter]) -> Any:
    """The query parameters of `filter_class`, as fastapi-filter's `FilterDepends` reads them.

    fastapi-filter hands FastAPI a class, and FastAPI calls any plain callable in a worker
    thread: a thread hop and a GIL hand-over per list request, which cost more than the parsing
    and made lists several times slower under load. This calls it on the event loop instead.
    """
    parse = FilterDepends(filter_class).dependency

    async def filters(**params: Any) -> Any:
        return parse(**params)

    filters.__signature__ = inspect.signature(parse)  # type: ignore[attr-defined]
    return Depends(filters)
