"""How people name themselves to sign in: addresses in their one spelling, and the rules of a
new password. Every identity feature validates with these."""

import re
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

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
# A password as typed to sign in or confirm a change: checked against the hash, no rules.
LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX_LENGTH)]
LoginEmail = Annotated[str, StringConstraints(min_length=1, max_length=320)]
