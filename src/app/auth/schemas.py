from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from app.core.schemas import RequestSchema, ResponseSchema, refuse_nul
from app.factors.schemas import TotpCode
from app.identity.schemas import LoginEmail, LoginPassword, Password
from app.passkeys.schemas import PasskeyAssertion


class LoginRequest(RequestSchema):
    email: LoginEmail
    password: LoginPassword


# A model rather than FastAPI's OAuth2PasswordRequestForm, so the schema and generated clients
# get a stable name instead of `Body_login_form`.
class TokenForm(BaseModel):
    """The OAuth2 password grant (RFC 6749 §4.3), as Swagger UI's Authorize sends it. Unknown
    fields (`scope`, `client_id`) are ignored, as the RFC requires."""

    grant_type: Literal["password"] | None = None
    username: LoginEmail = Field(description="The account's email.")
    password: LoginPassword = Field(json_schema_extra={"format": "password"})

    _refuse_nul = field_validator("*", mode="before")(refuse_nul)


class PasswordChange(RequestSchema):
    current_password: LoginPassword
    new_password: Password


class TokenResponse(ResponseSchema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_at: datetime


class ReauthWithPassword(RequestSchema):
    password: LoginPassword


class ReauthWithCode(RequestSchema):
    code: TotpCode


class ReauthWithPasskey(RequestSchema):
    passkey: PasskeyAssertion = Field(
        description="The answer to `POST /auth/passkeys/reauth/options`' challenge"
    )


Reauth = ReauthWithPassword | ReauthWithCode | ReauthWithPasskey
