import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from app.core.schemas import RequestSchema, ResponseSchema

PasskeyName = Annotated[
    str, Field(min_length=1, max_length=100, description="What the user calls it")
]
# The browser's answer, as `PublicKeyCredential.toJSON()` gives it (base64url fields).
Credential = Annotated[
    dict[str, Any],
    Field(description="The `PublicKeyCredential` the browser made, as its `toJSON()` gives it"),
]


class PasskeyOptionsRead(ResponseSchema):
    """Hand `public_key` to `navigator.credentials.create()` (registration) or `.get()`
    (sign-in), then send the credential back with `challenge_id`."""

    challenge_id: uuid.UUID = Field(description="Single-use; expires after a few minutes")
    public_key: dict[str, Any] = Field(
        description="The `publicKey` options, in WebAuthn's JSON form (base64url fields)"
    )


class PasskeyRegistration(RequestSchema):
    challenge_id: uuid.UUID
    credential: Credential
    name: PasskeyName = "Passkey"


class PasskeyAssertion(RequestSchema):
    """A passkey's answer to a sign-in's (or a reauthentication's) challenge."""

    challenge_id: uuid.UUID
    credential: Credential


class PasskeyUpdate(RequestSchema):
    name: PasskeyName


class PasskeyRead(ResponseSchema):
    id: uuid.UUID
    name: str
    transports: list[str] = Field(description="How the device was reached (`internal`, `usb`…)")
    backed_up: bool = Field(description="Synced between the user's devices by its provider")
    created_at: datetime
    last_used_at: datetime | None
