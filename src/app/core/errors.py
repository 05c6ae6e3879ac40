"""Domain errors. Services raise these; one handler turns them into SPEC's envelope."""

from collections.abc import Mapping, Sequence
from typing import ClassVar

from app.core.schemas import ErrorBody


class AppError(Exception):
    """An error with an HTTP status, a stable `error_code` and a client-safe `detail`."""

    status_code: ClassVar[int] = 500
    error_code: ClassVar[str] = "INTERNAL_ERROR"
    default_detail: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str | None = None, *, headers: Mapping[str, str] | None = None):
        self.detail = detail or self.default_detail
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.detail)


class BadRequestError(AppError):
    """A request malformed below the level of its schema (an unknown `Host`, a repeated
    `Authorization`)."""

    status_code = 400
    error_code = "BAD_REQUEST"
    default_detail = "Bad request"


class InvalidTokenError(BadRequestError):
    """A mailed token that is wrong, expired, already used or meant for something else."""

    error_code = "INVALID_TOKEN"
    default_detail = "The link is invalid, expired or already used"


class EmailNotVerifiedError(AppError):
    status_code = 403
    error_code = "EMAIL_NOT_VERIFIED"
    default_detail = (
        "Verify your email address first, from the mail we sent to it (a password reset "
        "verifies it too)"
    )


class InvalidInputError(AppError):
    """Input that passes the schema but not the business rules (or an invalid cursor)."""

    status_code = 422
    error_code = "VALIDATION_ERROR"
    default_detail = "Validation error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        loc: Sequence[str | int] = (),
        kind: str = "value_error",
    ):
        super().__init__(detail)
        self.errors = [{"loc": list(loc), "msg": self.detail, "type": kind}] if loc else []


class UnauthorizedError(AppError):
    status_code = 401
    error_code = "UNAUTHORIZED"
    default_detail = "Not authenticated"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class InvalidCredentialsError(UnauthorizedError):
    error_code = "INVALID_CREDENTIALS"
    default_detail = "Invalid email or password"


class MfaRequiredError(UnauthorizedError):
    """The password was right; the account's second factor is due at `POST /auth/login/mfa`
    with this `mfa_token`."""

    error_code = "MFA_REQUIRED"
    default_detail = "A second factor is required: send a code with the mfa_token"

    def __init__(self, mfa_token: str):
        super().__init__()
        self.mfa_token = mfa_token


class InvalidCodeError(UnauthorizedError):
    error_code = "INVALID_CODE"
    default_detail = "The code is wrong, expired or already used"


class ForbiddenError(AppError):
    status_code = 403
    error_code = "FORBIDDEN"
    default_detail = "Not allowed"


class ReauthRequiredError(ForbiddenError):
    """A sensitive act, and the session's last authentication is older than `REAUTH_WINDOW`:
    `POST /auth/reauth` first."""

    error_code = "REAUTH_REQUIRED"
    default_detail = "Confirm it is you first: POST /auth/reauth with your password or a code"


class SecondFactorRequiredError(ForbiddenError):
    """The caller holds a role of `REQUIRE_2FA_ROLES` and did not sign in with a second
    factor: they may only enrol one."""

    error_code = "SECOND_FACTOR_REQUIRED"
    default_detail = (
        "Your role needs a second factor: turn on an authenticator app or add a passkey "
        "(POST /auth/2fa/totp, POST /auth/passkeys/register/options), then sign in with it"
    )


class PermissionDeniedError(ForbiddenError):
    """The caller is signed in, but none of their roles grants what the route needs."""

    error_code = "PERMISSION_DENIED"
    default_detail = "Permission denied"

    def __init__(self, permission: str):
        super().__init__(f"Missing permission: {permission}")


class NotFoundError(AppError):
    status_code = 404
    error_code = "NOT_FOUND"
    default_detail = "Not found"


class MethodNotAllowedError(AppError):
    status_code = 405
    error_code = "METHOD_NOT_ALLOWED"
    default_detail = "Method not allowed"


class AlreadyExistsError(AppError):
    status_code = 409
    error_code = "ALREADY_EXISTS"
    default_detail = "Already exists"


class ConflictError(AppError):
    status_code = 409
    error_code = "CONFLICT"
    default_detail = "Conflict"


class RequestTimeoutError(AppError):
    status_code = 408
    error_code = "REQUEST_TIMEOUT"
    default_detail = "The request did not arrive in time"


class PreconditionFailedError(AppError):
    status_code = 412
    error_code = "PRECONDITION_FAILED"
    default_detail = "The resource has changed; fetch it again"


class PayloadTooLargeError(AppError):
    status_code = 413
    error_code = "PAYLOAD_TOO_LARGE"
    default_detail = "Request body too large"


class PreconditionRequiredError(AppError):
    status_code = 428
    error_code = "PRECONDITION_REQUIRED"
    default_detail = "If-Match header required"


class RateLimitedError(AppError):
    status_code = 429
    error_code = "RATE_LIMITED"
    default_detail = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class RequestHeadersTooLargeError(AppError):
    status_code = 431
    error_code = "HEADERS_TOO_LARGE"
    default_detail = "Request headers too large or too many"


class ServiceUnavailableError(AppError):
    status_code = 503
    error_code = "SERVICE_UNAVAILABLE"
    default_detail = "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5):
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


# Starlette's own HTTP errors (unknown route, wrong method, body limit) map onto the family.
ERRORS_BY_STATUS: dict[int, type[AppError]] = {
    cls.status_code: cls
    for cls in (
        NotFoundError,
        MethodNotAllowedError,
        PayloadTooLargeError,
        RequestTimeoutError,
        ForbiddenError,
        UnauthorizedError,
        ConflictError,
        PreconditionFailedError,
        PreconditionRequiredError,
        InvalidInputError,
    )
}


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses=` entries for the given errors, all with the envelope schema."""
    responses: dict[int | str, dict[str, object]] = {}
    for error in errors:
        entry = responses.setdefault(error.status_code, {"model": ErrorBody, "description": ""})
        codes = (
            f"{entry['description']}, {error.error_code}"
            if entry["description"]
            else error.error_code
        )
        entry["description"] = codes
    return responses


# What any API route can answer: the host check and the body limit apply before routing,
# validation, crashes and outages anywhere.
COMMON_ERROR_RESPONSES = error_responses(
    BadRequestError, InvalidInputError, PayloadTooLargeError, AppError, ServiceUnavailableError
)
