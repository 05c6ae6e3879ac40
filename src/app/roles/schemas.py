import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from app.core.permissions import ALL, NAME, document_choices, undeclared
from app.core.schemas import PatchSchema, RequestSchema, ResponseSchema

RoleName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,49}$"), Field(examples=["editor"])
]
Description = Annotated[str, StringConstraints(max_length=500)]


def _declared(permissions: list[str]) -> list[str]:
    if ALL in permissions:
        raise ValueError(f"{ALL!r} belongs to the built-in admin role alone")
    if unknown := undeclared(permissions):
        raise ValueError(f"unknown permissions: {', '.join(unknown)}")
    return sorted(set(permissions))


Permissions = Annotated[
    list[
        Annotated[
            str,
            StringConstraints(pattern=f"^{NAME.pattern}$", max_length=100),
            Field(json_schema_extra=document_choices(personal=True)),
        ]
    ],
    Field(max_length=200, examples=[["items:read", "items:write"]]),
    AfterValidator(_declared),
]


class RoleCreate(RequestSchema):
    name: RoleName
    description: Description = ""
    permissions: Permissions


class RoleUpdate(PatchSchema):
    not_null = ("name", "description", "permissions")

    name: RoleName | None = None
    description: Description | None = None
    permissions: Permissions | None = None


class RoleRead(ResponseSchema):
    id: uuid.UUID
    name: str
    description: str
    built_in: bool
    permissions: list[str]
    created_at: datetime
    updated_at: datetime


class PermissionRead(ResponseSchema):
    name: str
    description: str
    personal: bool = Field(description="Only for people signed in with their password")
