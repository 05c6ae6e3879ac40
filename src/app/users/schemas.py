import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from app.core.schemas import Page, PatchSchema, RequestSchema, ResponseSchema
from app.core.security import password_problem
from app.identity.schemas import Email, Password

FullName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class UserCreate(RequestSchema):
    email: Email
    password: Password = Field(json_schema_extra={"format": "password", "writeOnly": True})
    full_name: FullName | None = None

    @field_validator("password")
    @classmethod
    def _not_the_email(cls, password: str, info: ValidationInfo) -> str:
        if problem := password_problem(password, email=info.data.get("email")):
            raise ValueError(problem)
        return password


class UserUpdateMe(RequestSchema):
    full_name: FullName | None = None


class UserAdminUpdate(PatchSchema):
    # The flags are NOT NULL columns: an explicit null is a 422, not a failed UPDATE.
    not_null = ("is_active", "is_superuser")

    full_name: FullName | None = None
    is_active: StrictBool | None = None
    is_superuser: StrictBool | None = None


class UserRead(ResponseSchema):
    id: uuid.UUID
    email: str
    full_name: str | None
    is_active: bool
    email_verified_at: datetime | None = Field(
        description="When the address was confirmed from a mail sent to it; null until then"
    )
    is_superuser: bool = Field(description="Holds the `admin` role: every permission")
    roles: list[str] = Field(description="The names of the roles the user holds")
    created_at: datetime
    updated_at: datetime


class UserPage(Page[UserRead]):
    pass
