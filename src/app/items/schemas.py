import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictBool, StringConstraints, model_validator

from app.core.schemas import Page, PatchSchema, RequestSchema, ResponseSchema

Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
MAX_BULK = 1000


class ItemCreate(RequestSchema):
    title: Title
    description: Description | None = None
    is_active: StrictBool = True


class ItemUpdate(PatchSchema):
    not_null = ("title", "is_active")

    title: Title | None = None
    description: Description | None = None
    is_active: StrictBool | None = None


class ItemRead(ResponseSchema):
    id: uuid.UUID
    title: str
    description: str | None
    is_active: bool
    owner_id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime


class ItemPage(Page[ItemRead]):
    pass


class ItemUpsert(ItemCreate):
    """One row of a bulk upsert: with an `id` it updates (or creates) that item."""

    id: uuid.UUID | None = None


class ItemBulk(RequestSchema):
    items: list[ItemUpsert] = Field(min_length=1, max_length=MAX_BULK)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> "ItemBulk":
        ids = [row.id for row in self.items if row.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("the same id appears more than once")
        return self


class ItemBulkResult(ResponseSchema):
    created: int
    updated: int
    skipped: list[uuid.UUID] = Field(
        description="Ids left unchanged: they belong to another user or are deleted"
    )
    items: list[ItemRead]
