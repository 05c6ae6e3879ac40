from typing import Annotated

from pydantic import Field, StringConstraints

from app.core.schemas import RequestSchema, ResponseSchema
from app.identity.schemas import Email, LoginEmail, LoginPassword, Password

Token = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PasswordResetRequest(RequestSchema):
    email: LoginEmail


class PasswordResetConfirm(RequestSchema):
    token: Token
    new_password: Password


class TokenBody(RequestSchema):
    token: Token


class EmailChange(RequestSchema):
    new_email: Email
    current_password: LoginPassword


class Accepted(ResponseSchema):
    detail: str = Field(examples=["If an account uses this address, a mail is on its way."])
