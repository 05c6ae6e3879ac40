import uuid
from datetime import datetime
from typing import Annotated

from pydantic import StrictBool, StringConstraints

from app.core.schemas import PatchSchema, RequestSchema, ResponseSchema

Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]


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
