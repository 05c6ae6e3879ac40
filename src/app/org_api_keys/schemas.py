import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from app.core.permissions import ALL, declared, document_choices
from app.core.schemas import RequestSchema, ResponseSchema, UTCDatetime


def _grantable(scopes: list[str]) -> list[str]:
    if ALL in scopes:
        raise ValueError(f"{ALL!r} is not for API keys: name the permissions")
    if unknown := sorted(set(scopes) - set(declared(org=True))):
        raise ValueError(f"unknown organisation permissions: {', '.join(unknown)}")
    return sorted(set(scopes))


class OrgApiKeyCreate(RequestSchema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    scopes: Annotated[
        list[
            Annotated[
                str,
                StringConstraints(max_length=100),
                Field(json_schema_extra=document_choices(personal=True, org=True)),
            ]
        ],
        Field(min_length=1, max_length=200, examples=[["projects:read"]]),
        AfterValidator(_grantable),
    ]
    expires_at: UTCDatetime | None = Field(default=None, description="Never, when left out")


class OrgApiKeyRead(ResponseSchema):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    scopes: list[str]
    created_by: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class OrgApiKeyCreated(OrgApiKeyRead):
    key: str = Field(description="The key itself: shown this once, never stored")
