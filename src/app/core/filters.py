"""Lists at the HTTP edge: the base of every filter (fastapi-filter) with a safe `search`, and
the one dependency that settles a list request (filters, sort, page, cursor) before any service
runs."""

import inspect
import math
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import Depends, Request
from fastapi_filter import FilterDepends
from fastapi_filter.contrib.sqlalchemy import Filter
from pydantic import field_validator
from sqlalchemy import BigInteger, Enum, Integer, Select, SmallInteger, or_
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeDecorator

from app.core.errors import InvalidInputError
from app.core.pagination import (
    CURSOR_LOC,
    CursorCodec,
    CursorValue,
    PageParamsDep,
    PageRequest,
    PageResult,
    SortKey,
    parse_order_by,
)
from app.core.schemas import UTCDatetime, refuse_nul
from app.core.state import core_state

FilterT = TypeVar("FilterT", bound="ListFilter")
T = TypeVar("T")


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ListFilter(Filter):
    """fastapi-filter's conventions, plus two guarantees.

    `search` is a case-insensitive *contains* on `Constants.search_model_fields` in which `%`
    and `_` are literal characters, and `order_by` accepts only `sortable` fields.
    """

    order_by: list[str] | None = None

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


class TimestampFilter(ListFilter):
    """A list of rows with a `created_at`: the range `created_at__gte` ≤ created_at <
    `created_at__lt`."""

    created_at__gte: UTCDatetime | None = None
    created_at__lt: UTCDatetime | None = None


class OwnedFilter(TimestampFilter):
    """A list of owned rows: `owner_id` narrows it to one owner's (superusers only)."""

    owner_id: uuid.UUID | None = None


def _parameters(filter_class: type[ListFilter], parse: Any) -> inspect.Signature:
    """The filter's own fields first, then those of its bases, `order_by` last: the order in
    which OpenAPI lists them."""
    signature = inspect.signature(parse)
    own = vars(filter_class).get("__annotations__", {})
    ordering = filter_class.Constants.ordering_field_name
    rank = {name: (name == ordering, name not in own) for name in signature.parameters}
    ordered = sorted(signature.parameters.values(), key=lambda param: rank[param.name])
    return signature.replace(parameters=ordered)


def filter_params(filter_class: type[ListFilter]) -> Any:
    """The query parameters of `filter_class`, as fastapi-filter's `FilterDepends` reads them.

    fastapi-filter hands FastAPI a class, and FastAPI calls any plain callable in a worker
    thread: a thread hop and a GIL hand-over per list request, which cost more than the parsing
    and made lists several times slower under load. This calls it on the event loop instead.
    """
    parse = FilterDepends(filter_class).dependency

    async def filters(**params: Any) -> Any:
        return parse(**params)

    filters.__signature__ = _parameters(filter_class, parse)  # type: ignore[attr-defined]
    return Depends(filters)


@dataclass(frozen=True)
class ListQuery(Generic[FilterT]):
    """A list request settled at the edge: every 422 (a filter, `order_by`, the page bounds, a
    cursor that is forged, stale or of the wrong types) was answered before a service ran."""

    filters: FilterT
    page: PageRequest
    codec: CursorCodec

    def signed(self, result: PageResult[T]) -> PageResult[T]:
        """The page with its `next_cursor`: the last row's keys, signed."""
        if result.next_keys is None:
            return result
        return replace(result, next_cursor=self.codec.encode(self.page.sort, result.next_keys))


def list_query(filter_class: type[ListFilter]) -> Any:
    """The dependency of a list route: `Annotated[ListQuery[ItemFilter], list_query(ItemFilter)]`.
    Its query parameters are the filter's and the page's, as OpenAPI shows them."""
    model = filter_class.Constants.model

    async def resolve(
        request: Request,
        filters: Annotated[Any, filter_params(filter_class)],
        paging: PageParamsDep,
    ) -> ListQuery[Any]:
        codec = core_state(request).cursor_codec
        page = PageRequest(filters.sort_keys(), limit=paging.limit, offset=paging.offset)
        if paging.cursor is not None:
            page = replace(page, after=_cursor_values(codec, paging.cursor, page, model))
        return ListQuery(filters, page, codec)

    return Depends(resolve)


def _cursor_values(
    codec: CursorCodec, token: str, page: PageRequest, model: Any
) -> tuple[CursorValue, ...]:
    cursor = codec.decode(token)
    if not cursor.made_for(page.sort):
        raise InvalidInputError("The cursor was made for another order_by", loc=CURSOR_LOC)
    columns = [getattr(model, key.field) for key in page.keys]
    # A cursor signed with a leaked or default key could carry anything: each value must be
    # what its column holds, or the driver fails (a 500) instead of the client (a 422).
    if len(cursor.values) != len(columns) or not all(map(_fits, columns, cursor.values)):
        raise InvalidInputError("Invalid cursor", loc=CURSOR_LOC)
    return cursor.values


# The range of each integer column type, for values that do not come through a schema.
_INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))


def _fits(column: InstrumentedAttribute[Any], value: object) -> bool:
    """Whether `value` is of the Python type, and within the range, that `column` stores."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if value is None:
        return bool(column.nullable)
    if isinstance(kind, Enum):
        return isinstance(value, str) and value in kind.enums
    expected = kind.python_type
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        return False
    if isinstance(value, datetime):
        return expected is datetime and (value.tzinfo is not None) == bool(kind.timezone)
    if isinstance(value, date):
        return expected is date
    if isinstance(value, float | Decimal):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        bits = next((bits for integer, bits in _INTEGER_BITS if isinstance(kind, integer)), 64)
        return -(1 << (bits - 1)) <= value < 1 << (bits - 1)
    return True
