import re
import uuid
from datetime import datetime
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from app.core.schemas import Page, PatchSchema, RequestSchema, ResponseSchema


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _special_use_domains_pattern() -> str:
    # EmailStr refuses special-use domains (`user@host.test`); the schema says so too, so that
    # clients and fuzzers know. Case-insensitive without a regex flag, which JSON Schema lacks.
    names = "|".join(
        "".join(
            f"[{char.lower()}{char.upper()}]" if char.isalpha() else re.escape(char)
            for char in name
        )
        for name in SPECIAL_USE_DOMAIN_NAMES
    )
    return rf"^(?!.*[@.](?:{names})\s*$)"


Email = Annotated[
    EmailStr,
    BeforeValidator(_strip),
    AfterValidator(normalise_email),
    WithJsonSchema(
        {"type": "string", "format": "email", "pattern": _special_use_domains_pattern()}
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
FullName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class UserCreate(RequestSchema):
    email: Email
    password: Password = Field(json_schema_extra={"format": "password", "writeOnly": True})
    full_name: FullName | None = None


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
    is_superuser: bool
    created_at: datetime
    updated_at: datetime


class UserPage(Page[UserRead]):
    pass
