import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from app.core.permissions import declared, document_choices
from app.core.schemas import RequestSchema, ResponseSchema, UTCDatetime
from app.identity.schemas import LoginPassword


def _grantable(scopes: list[str]) -> list[str]:
    permissions = declared()
    if unknown := sorted({scope for scope in scopes if scope not in permissions}):
        raise ValueError(f"unknown permissions: {', '.join(unknown)}")
    if personal := sorted({scope for scope in scopes if permissions[scope].personal}):
        raise ValueError(f"not for API keys: {', '.join(personal)}")
    return sorted(set(scopes))


class ApiKeySpec(RequestSchema):
    """What a key is: its name, scopes and expiry."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    scopes: Annotated[
        list[
            Annotated[
                str,
                StringConstraints(max_length=100),
                Field(json_schema_extra=document_choices(personal=False)),
            ]
        ],
        Field(min_length=1, max_length=200, examples=[["items:read"]]),
        AfterValidator(_grantable),
    ]
    expires_at: UTCDatetime | None = Field(default=None, description="Never, when left out")


class ApiKeyCreate(ApiKeySpec):
    current_password: LoginPassword = Field(
        description="The caller's password: a stolen session alone mints no key"
    )


class ApiKeyRead(ResponseSchema):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself: shown this once, never stored")
