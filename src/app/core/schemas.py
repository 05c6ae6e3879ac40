"""Base schemas: what every request body, response and page looks like."""

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

T = TypeVar("T")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# A client-supplied instant: an offset is required, and it is stored and answered in UTC.
UTCDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class RequestSchema(BaseModel):
    """A request body: unknown fields are refused, so nothing can be mass-assigned.

    Strings are taken as sent (stripping would turn a valid " " into an invalid ""), and
    booleans and integers must be JSON booleans and integers (`StrictBool`, `strict=True`).
    """

    model_config = ConfigDict(extra="forbid")


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
