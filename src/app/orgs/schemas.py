import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from app.core.permissions import ALL, NAME, document_choices, undeclared
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


def _org_permissions(permissions: list[str]) -> list[str]:
    if ALL in permissions:
        raise ValueError(f"{ALL!r} belongs to the built-in owner role alone")
    if unknown := undeclared(permissions, org=True):
        raise ValueError(f"unknown organisation permissions: {', '.join(unknown)}")
    return sorted(set(permissions))


OrgPermissions = Annotated[
    list[
        Annotated[
            str,
            StringConstraints(pattern=f"^{NAME.pattern}$", max_length=100),
            Field(json_schema_extra=document_choices(personal=True, org=True)),
        ]
    ],
    Field(max_length=200, examples=[["projects:read"]]),
    AfterValidator(_org_permissions),
]
Description = Annotated[str, StringConstraints(max_length=500)]


class OrgRoleCreate(RequestSchema):
    name: RoleName
    description: Description = ""
    permissions: OrgPermissions


class OrgRoleUpdate(PatchSchema):
    not_null = ("name", "description", "permissions")

    name: RoleName | None = None
    description: Description | None = None
    permissions: OrgPermissions | None = None


class OrgRoleRead(ResponseSchema):
    id: uuid.UUID
    name: str
    description: str
    built_in: bool = Field(description="The same in every organisation, and unchangeable")
    permissions: list[str]
    created_at: datetime
    updated_at: datetime
