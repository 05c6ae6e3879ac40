import uuid
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from app.core.schemas import PatchSchema, RequestSchema, ResponseSchema

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]


class ProjectCreate(RequestSchema):
    name: Name
    description: Description | None = None


class ProjectUpdate(PatchSchema):
    not_null = ("name",)

    name: Name | None = None
    description: Description | None = None


class ProjectRead(ResponseSchema):
    id: uuid.UUID
    name: str
    description: str | None
    org_id: uuid.UUID
    version: int
    created_at: datetime
    updated_at: datetime
