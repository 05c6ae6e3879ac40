"""Paging parameters, sort keys and opaque, tamper-evident keyset cursors."""

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeAlias, TypeVar

import orjson
from fastapi import Depends, Query

from app.core.errors import InvalidInputError

T = TypeVar("T")

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 2**31 - 1
CURSOR_LOC = ("query", "cursor")
ORDER_BY_LOC = ("query", "order_by")

# A row of a page read as plain values, column name to value: what a response schema is
# validated from without an ORM object in between.
Record: TypeAlias = Mapping[str, Any]
CursorValue: TypeAlias = str | int | float | bool | datetime | date | uuid.UUID | Decimal | None

# Each value is stored with a tag so that the cursor decodes to the exact Python type again.
_ENCODERS: dict[type, tuple[str, Callable[[Any], object]]] = {
    bool: ("b", bool),
    int: ("i", int),
    float: ("f", float),
    str: ("s", str),
    Decimal: ("n", str),
    uuid.UUID: ("u", str),
    datetime: ("t", lambda v: v.isoformat()),
    date: ("d", lambda v: v.isoformat()),
}
_DECODERS: dict[str, Callable[[object], CursorValue]] = {
    "b": lambda v: bool(v),
    "i": lambda v: int(str(v)),
    "f": lambda v: float(str(v)),
    "s": str,
    "n": lambda v: Decimal(str(v)),
    "u": lambda v: uuid.UUID(str(v)),
    "t": lambda v: datetime.fromisoformat(str(v)),
    "d": lambda v: date.fromisoformat(str(v)),
}


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def parse_order_by(
    values: Iterable[str] | None, *, allowed: Iterable[str], default: Sequence[SortKey]
) -> tuple[SortKey, ...]:
    """Sort keys from `order_by` terms such as `-created_at`; unknown fields are a 422."""
    allowed = set(allowed)
    keys: list[SortKey] = []
    for term in values or ():
        term = term.strip()
        name = term.removeprefix("-").removeprefix("+")
        if name not in allowed:
            raise InvalidInputError(
                f"Cannot sort by '{name}'; allowed: {', '.join(sorted(allowed))}", loc=ORDER_BY_LOC
            )
        if any(key.field == name for key in keys):
            raise InvalidInputError(f"'{name}' is given twice", loc=ORDER_BY_LOC)
        keys.append(SortKey(name, descending=term.startswith("-")))
    return tuple(keys) or tuple(default)


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the sort it was made for and the last row's keys."""

    sort: str
    values: tuple[CursorValue, ...]

    def made_for(self, sort: Sequence[SortKey]) -> bool:
        return self.sort == _sort_spec(sort)


class CursorCodec:
    """Encodes cursors as base64url JSON with a truncated HMAC, so clients cannot forge them."""

    def __init__(self, secret: str):
        self._key = hashlib.sha256(f"cursor:{secret}".encode()).digest()

    def encode(self, sort: Sequence[SortKey], values: Sequence[CursorValue]) -> str:
        payload = orjson.dumps({"s": _sort_spec(sort), "v": [_tag(value) for value in values]})
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, token: str) -> Cursor:
        try:
            body, signature = token.split(".")
            payload = _unb64(body)
            if not hmac.compare_digest(_unb64(signature), self._sign(payload)):
                raise ValueError("bad signature")
            data = orjson.loads(payload)
            return Cursor(sort=str(data["s"]), values=tuple(_untag(item) for item in data["v"]))
        # ArithmeticError: `decimal.InvalidOperation` for a number that is not one.
        except (
            ValueError,
            ArithmeticError,
            KeyError,
            TypeError,
            IndexError,
            binascii.Error,
        ) as exc:
            raise InvalidInputError("Invalid cursor", loc=CURSOR_LOC) from exc

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]


@dataclass(frozen=True)
class PageRequest:
    """A page as a repository is asked for it, settled at the HTTP edge: the client's sort keys,
    the size, and either an offset or the keys of the row to continue after (already checked
    against the columns they compare with)."""

    sort: tuple[SortKey, ...]
    limit: int = DEFAULT_LIMIT
    offset: int | None = None
    after: tuple[CursorValue, ...] | None = None

    @property
    def keys(self) -> tuple[SortKey, ...]:
        """The sort keys with `id` last, in the direction of the last key: no ties."""
        last = self.sort[-1].descending if self.sort else False
        return (*self.sort, SortKey("id", descending=last))


@dataclass
class PageResult(Generic[T]):
    """What a repository returns for a list; rendered by `core.schemas.Page`.

    `next_keys` are the last row's sort keys when more rows follow; the edge turns them into
    the signed `next_cursor` (the repository knows no signing key).
    """

    items: list[T]
    limit: int
    offset: int | None
    total: int | None
    next_keys: tuple[CursorValue, ...] | None = None
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageParams:
    """`limit` plus either `offset` (with a total) or an opaque `cursor` (keyset), as sent."""

    limit: int = DEFAULT_LIMIT
    offset: int | None = None
    cursor: str | None = None


async def get_page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int | None, Query(ge=0, le=MAX_OFFSET)] = None,
    cursor: Annotated[str | None, Query(max_length=2048, description="From `next_cursor`")] = None,
) -> PageParams:
    if offset is not None and cursor is not None:
        raise InvalidInputError("Give either offset or cursor, not both", loc=CURSOR_LOC)
    return PageParams(limit=limit, offset=offset, cursor=cursor)


PageParamsDep = Annotated[PageParams, Depends(get_page_params)]


def _sort_spec(sort: Sequence[SortKey]) -> str:
    return ",".join(str(key) for key in sort)


def _tag(value: CursorValue) -> list[object]:
    if value is None:
        return ["z", None]
    for kind in type(value).__mro__:
        if kind in _ENCODERS:
            tag, encode = _ENCODERS[kind]
            return [tag, encode(value)]
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _untag(item: object) -> CursorValue:
    if not isinstance(item, list) or len(item) != 2:
        raise ValueError("malformed cursor value")
    tag, raw = item
    if tag == "z":
        return None
    return _DECODERS[str(tag)](raw)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
