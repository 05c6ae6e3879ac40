import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.core.schemas import Page, PatchSchema, RequestSchema, ResponseSchema

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
OrgName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Slug = Annotated[
    str,
    StringConstraints(pattern=SLUG_PATTERN),
    Field(
        description="Lower-case letters, digits and inner hyphens; 63 at most", examples=["acme"]
    ),
]
RoleName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,49}$"), Field(examples=["member"])
]


class OrgCreate(RequestSchema):
    name: OrgName
    slug: Slug | None = Field(default=None, description="Derived from the name when left out")


class OrgUpdate(PatchSchema):
    not_null = ("name", "slug")

    name: OrgName | None = None
    slug: Slug | None = None


class OrgRead(ResponseSchema):
    id: uuid.UUID
    name: str
    slug: str
    version: int
    created_at: datetime
    updated_at: datetime


class OrgPage(Page[OrgRead]):
    pass


class MemberRolesUpdate(RequestSchema):
    roles: list[RoleName] = Field(
        max_length=20, description="Every role the member holds afterwards, by name"
    )


class MemberRead(ResponseSchema):
    user_id: uuid.UUID
    email: str
    full_name: str | None
    roles: list[str]
    joined_at: datetime = Field(validation_alias="created_at")


class MemberPage(Page[MemberRead]):
    pass
