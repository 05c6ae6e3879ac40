import re
import uuid
from datetime import datetime
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

from app.core.schemas import Page, PatchSchema, RequestSchema, ResponseSchema
from app.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, password_problem
from app.mail.sender import survives_headers


def canonical_email(email: str) -> str:
    """The one spelling of an address: email-validator's normal form (NFC, the domain decoded
    from IDNA and width-folded), lower-cased. Raises a validation error for a non-address, and
    for one that mail would not reach as it is written (see `survives_headers`)."""
    _name, address = validate_email(email.strip())
    address = address.lower()
    if not survives_headers(address):
        raise PydanticCustomError(
            "value_error",
            "value is not a valid email address: mail would not reach it as written "
            "(encoded words such as =?utf-8?q?…?= are not allowed)",
        )
    return address


def normalise_email(email: str) -> str:
    """`canonical_email` for every path that looks an address up (login, the OAuth2 form,
    rate-limit keys); a string that is no address is only trimmed and lower-cased, so that it
    fails like an unknown account instead of telling what is wrong with it."""
    try:
        return canonical_email(email)
    except PydanticCustomError:
        return email.strip().lower()


def _acceptable_password(password: str) -> str:
    if problem := password_problem(password):
        raise ValueError(problem)
    return password


def _refused_addresses_pattern() -> str:
    # EmailStr refuses special-use domains (`user@host.test`); the schema says so too, so that
    # clients and fuzzers know. Case-insensitive without a regex flag, which JSON Schema lacks.
    names = "|".join(
        "".join(
            f"[{char.lower()}{char.upper()}]" if char.isalpha() else re.escape(char)
            for char in name
        )
        for name in SPECIAL_USE_DOMAIN_NAMES
    )
    # Nor encoded words (`=?`), which mail would decode into another address.
    return rf"^(?!.*=\?)(?!.*[@.](?:{names})\s*$)"


Email = Annotated[
    str,
    AfterValidator(canonical_email),
    WithJsonSchema({"type": "string", "format": "email", "pattern": _refused_addresses_pattern()}),
]
Password = Annotated[
    str,
    StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH),
    AfterValidator(_acceptable_password),
    Field(
        description="8 to 128 characters, any of them; not blank, not one of the most common "
        "passwords, not the account's email (NIST SP 800-63B)"
    ),
]
FullName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# A password as typed to sign in or confirm a change: checked against the hash, no rules.
LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


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
