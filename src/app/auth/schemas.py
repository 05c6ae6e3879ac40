from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints

from app.core.schemas import RequestSchema, ResponseSchema
from app.users.schemas import Password

LoginEmail = Annotated[str, StringConstraints(min_length=1, max_length=320)]
LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class LoginRequest(RequestSchema):
    email: LoginEmail
    password: LoginPassword


class PasswordChange(RequestSchema):
    current_password: LoginPassword
    new_password: Password


class TokenResponse(ResponseSchema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_at: datetime
