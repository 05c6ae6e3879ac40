import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from app.core.config import PROVIDER_NAME_PATTERN, ProviderKind
from app.core.schemas import RequestSchema, ResponseSchema, refuse_nul

# Where a sign-in lands: a path of PUBLIC_URL (never another site: no open redirect).
RedirectPath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, pattern=r"^/([^/\\\s#][^\s\\#]*)?$"),
    BeforeValidator(refuse_nul),
]
Code = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ProviderName = Annotated[str, StringConstraints(pattern=PROVIDER_NAME_PATTERN)]
# What a provider sends back in the callback's query.
ProviderParameter = Annotated[str, StringConstraints(max_length=2000), BeforeValidator(refuse_nul)]


class SignInError(StrEnum):
    """Why a provider sign-in failed, as the result page's `error` parameter says it."""

    INVALID_STATE = "invalid_state"
    PROVIDER_REFUSED = "provider_refused"
    INVALID_RESPONSE = "invalid_response"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    ACCOUNT_EXISTS = "account_exists"
    ALREADY_LINKED = "already_linked"
    INACTIVE = "inactive"
    UNAVAILABLE = "unavailable"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"


class ProviderRead(ResponseSchema):
    name: str = Field(examples=["google"])
    display_name: str = Field(examples=["Google"])
    kind: ProviderKind
    authorize_url: str = Field(
        description="Where a browser goes to sign in (add `?redirect_to=/a/path`)",
        examples=["/api/v1/auth/oauth/google/authorize"],
    )


class LoginCodeExchange(RequestSchema):
    login_code: Code


class LinkRequest(RequestSchema):
    redirect_to: RedirectPath | None = None


class LinkStart(ResponseSchema):
    authorize_url: str = Field(
        description="Open it in the user's browser within `LOGIN_CODE_TTL`: it works once"
    )


class IdentityRead(ResponseSchema):
    id: uuid.UUID
    provider: str
    email: str | None
    created_at: datetime
    last_used_at: datetime
