import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.core.schemas import Page, RequestSchema, ResponseSchema
from app.identity.schemas import Email
from app.orgs.schemas import RoleName


class InvitationCreate(RequestSchema):
    email: Email
    roles: list[RoleName] = Field(
        min_length=1, max_length=20, description="The roles the invited person will hold"
    )


class InvitationRead(ResponseSchema):
    id: uuid.UUID
    email: str
    roles: list[str]
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime


class InvitationPage(Page[InvitationRead]):
    pass


class InvitationAccept(RequestSchema):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
