"""Base schemas: what every request body, response and page looks like."""

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from typing_extensions import TypeVar

T = TypeVar("T")
# An entity's request and response schemas; a repository that takes none
# (`Repository[UserSession]`) writes from keyword values.
CreateT = TypeVar("CreateT", bound=BaseModel, default=BaseModel)
UpdateT = TypeVar("UpdateT", bound=BaseModel, default=BaseModel)
ReadT = TypeVar("ReadT", bound=BaseModel, default=BaseModel)


ISO_8601_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601(value: object) -> object:
    # Pydantic also reads numbers as Unix timestamps, which `format: date-time` does not allow.
    not_iso = isinstance(value, str) and not ISO_8601_START.match(value)
    if not_iso or isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date-time with an offset, like 2026-01-05T12:00:00Z")
    return value


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+14:00 is a valid date-time whose UTC instant is before year 1.
        raise ValueError("must fall between years 1 and 9999 once converted to UTC") from None


# A client-supplied instant: an offset is required, and it is stored and answered in UTC.
UTCDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_8601), AfterValidator(_to_utc)]


def refuse_nul(value: object) -> object:
    """Refuse U+0000 anywhere in a value: PostgreSQL cannot store it in text (a driver error
    instead of a 422), and no legitimate text needs it."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul(key)
            refuse_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_nul(item)
    return value


class RequestSchema(BaseModel):
    """A request body: unknown fields are refused, so nothing can be mass-assigned.

    Strings are taken as sent (stripping would turn a valid " " into an invalid ""), and
    booleans and integers must be JSON booleans and integers (`StrictBool`, `strict=True`).
    """

    model_config = ConfigDict(extra="forbid")

    _refuse_nul = field_validator("*", mode="before")(refuse_nul)


def _document_not_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    # `title: Title | None = None` is how Python says "may be left out"; the schema should say
    # what the API accepts: left out, or a non-null value.
    properties = schema.get("properties", {})
    for name in getattr(model, "not_null", ()):
        variants = properties.get(name, {}).get("anyOf", [])
        kept = [variant for variant in variants if variant.get("type") != "null"]
        if len(kept) == 1 and len(variants) == 2:
            properties[name].pop("anyOf")
            properties[name].pop("default", None)
            properties[name].update(kept[0])


class PatchSchema(RequestSchema):
    """A partial update: every field optional, but `not_null` fields refuse an explicit null."""

    model_config = ConfigDict(json_schema_extra=_document_not_null)

    not_null: ClassVar[tuple[str, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name in cls.not_null:
            raise ValueError("may be left out, but not set to null")
        return value


class ResponseSchema(BaseModel):
    """A response, read from ORM objects (`from_attributes`)."""

    model_config = ConfigDict(from_attributes=True)


class Page(ResponseSchema, Generic[T]):
    """One page of a list. `total` in offset mode; `next_cursor` whenever more rows follow."""

    items: list[T]
    limit: int
    offset: int | None
    total: int | None
    next_cursor: str | None


RowT = TypeVar("RowT", bound=BaseModel)
MAX_BULK = 1000


class Bulk(RequestSchema, Generic[RowT]):
    """A bulk upsert's body: rows to create, or (with an `id`) to update or create."""

    items: list[RowT] = Field(min_length=1, max_length=MAX_BULK)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> "Bulk[RowT]":
        ids = [row_id for row in self.items if (row_id := getattr(row, "id", None)) is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("the same id appears more than once")
        return self


class BulkResult(ResponseSchema, Generic[T]):
    """What a bulk upsert did."""

    created: int
    updated: int
    skipped: list[uuid.UUID] = Field(
        description="Ids left unchanged: they belong to another user or are deleted"
    )
    items: list[T]


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The envelope of every error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "detail": "Item not found",
                "error_code": "NOT_FOUND",
                "correlation_id": "8f0c6f4e-2b4c-4d44-9b8f-6d7f1b0b1e53",
                "timestamp": "2026-01-05T12:00:00Z",
            }
        }
    )

    detail: str
    error_code: str
    correlation_id: str | None
    timestamp: datetime
    errors: list[ErrorItem] | None = Field(default=None, description="Only for validation errors")
    mfa_token: str | None = Field(
        default=None,
        description="Only with `MFA_REQUIRED`: send it with a code to `POST /auth/login/mfa`",
    )
