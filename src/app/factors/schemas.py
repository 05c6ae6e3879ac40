from typing import Annotated

from pydantic import Field

from app.core.schemas import RequestSchema, ResponseSchema

TotpCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="6 digits from the app")]
MfaToken = Annotated[str, Field(min_length=1, max_length=200)]
RecoveryCodeText = Annotated[
    str, Field(min_length=1, max_length=64, description="One of the recovery codes")
]


class TotpEnrolmentRead(ResponseSchema):
    """Show the QR code (or the secret, to type in) to the user's authenticator app, then
    confirm with its first code."""

    secret: str = Field(description="The seed in base32, for apps that cannot scan")
    otpauth_uri: str = Field(description="The `otpauth://totp/…` URI the QR code holds")
    qr_svg: str = Field(description="The QR code, as an inline SVG element")


class FactorStatusRead(ResponseSchema):
    totp_enabled: bool = Field(description="An authenticator app is on: sign-ins ask for a code")
    recovery_codes_left: int = Field(description="Unused recovery codes")


class TotpConfirm(RequestSchema):
    code: TotpCode


class RecoveryCodesRead(ResponseSchema):
    recovery_codes: list[str] = Field(
        description="Shown this once: each signs in once when the authenticator is lost"
    )


class MfaWithCode(RequestSchema):
    """The second step of a sign-in: the `mfa_token` of `MFA_REQUIRED` and a code."""

    mfa_token: MfaToken
    code: TotpCode


class MfaWithRecoveryCode(RequestSchema):
    """The second step of a sign-in with one of the recovery codes instead."""

    mfa_token: MfaToken
    recovery_code: RecoveryCodeText


MfaLogin = MfaWithCode | MfaWithRecoveryCode
