"""Second factors: an authenticator app (TOTP, RFC 6238, through pyotp) with single-use
recovery codes, and the second step of a sign-in whose password was right."""

import hmac
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

import pyotp
import segno

from app.core.crypto import SecretBox
from app.core.errors import ConflictError, InvalidCodeError, InvalidTokenError, NotFoundError
from app.core.ratelimit import RateLimiter
from app.core.request import ClientInfo, Clock
from app.core.security import hash_token, login_limit_key, new_token
from app.factors.audit import (
    MFA_FAILED,
    RECOVERY_CODE_USED,
    TOTP_DISABLED,
    TOTP_ENABLED,
    TOTP_RESET,
)
from app.factors.repository import ChallengeRepository, RecoveryCodeRepository, TotpRepository
from app.identity.models import User
from app.identity.service import AuditLog

# RFC 6238's defaults, which every authenticator app uses.
STEP_SECONDS = 30
# Codes of the step before and after are accepted too: clocks drift, people type slowly.
WINDOW = 1
RECOVERY_CODES = 10


@dataclass(frozen=True)
class FactorPolicy:
    issuer: str
    mfa_token_ttl: timedelta
    max_failures: int
    # `limits` rules (an empty one is off): wrong codes count as wrong passwords.
    login_email: str
    login_ip: str


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class FactorStatus:
    totp_enabled: bool
    recovery_codes_left: int


@dataclass(frozen=True)
class Passed:
    """Who passed a sign-in's second step, and with what (`totp` or `recovery_code`)."""

    user_id: uuid.UUID
    factor: str
    new_password_hash: str | None = None


@dataclass(frozen=True)
class Apart:
    """Writes in units of work of their own, kept although the request fails: the challenge
    a login answers `MFA_REQUIRED` with, and a wrong code counted against it."""

    issue_challenge: Callable[[str, uuid.UUID, datetime, str | None], Awaitable[None]]
    count_failure: Callable[[uuid.UUID, int], Awaitable[None]]


class FactorService:
    def __init__(
        self,
        *,
        totp: TotpRepository,
        recovery_codes: RecoveryCodeRepository,
        challenges: ChallengeRepository,
        box: SecretBox,
        limiter: RateLimiter,
        audit: AuditLog,
        apart: Apart,
        policy: FactorPolicy,
        clock: Clock,
    ):
        self.totp = totp
        self.recovery_codes = recovery_codes
        self.challenges = challenges
        self.box = box
        self.limiter = limiter
        self.audit = audit
        self.apart = apart
        self.policy = policy
        self.clock = clock

    async def start_totp(self, user: User) -> TotpEnrolment:
        """A new seed, not yet in force: `confirm_totp` with its first code turns it on."""
        if await self.totp.is_on(user.id):
            raise ConflictError("An authenticator app is already on for this account")
        secret = pyotp.random_base32()
        await self.totp.replace(user.id, self.box.encrypt(secret), now=self.clock())
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=self.policy.issuer)
        return TotpEnrolment(secret, uri, segno.make(uri, error="m").svg_inline(scale=4))

    async def confirm_totp(self, user: User, code: str) -> list[str]:
        """Turns the enrolment on with its first code; the recovery codes, shown once."""
        factor = await self.totp.find(user.id, lock=True)
        if factor is None or factor.confirmed_at is not None:
            raise ConflictError("No authenticator app is waiting to be confirmed: start again")
        if not await self._accept_totp(user.id, code):
            raise InvalidCodeError()
        factor.confirmed_at = self.clock()
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        await self.recovery_codes.replace_all(user.id, [_hash_code(code) for code in codes])
        await self.audit.record(TOTP_ENABLED, actor_id=user.id, subject_id=user.id)
        return codes

    async def is_required(self, user_id: uuid.UUID) -> bool:
        """Whether signing in as the user needs a second factor. Asked before anything is
        written, and hands the connection back: what follows may be a write apart (the
        challenge, a refusal), which SQLite's single connection must be free for."""
        required = await self.totp.is_on(user_id)
        await self.totp.release_connection()
        return required

    async def status(self, user: User) -> FactorStatus:
        """What the user has on, for their account page."""
        enabled = await self.totp.is_on(user.id)
        left = await self.recovery_codes.count_unused(user.id) if enabled else 0
        return FactorStatus(enabled, left)

    async def has_app(self, user_id: uuid.UUID) -> bool:
        """As `is_required`, inside a request that keeps its connection."""
        return await self.totp.is_on(user_id)

    async def challenge(self, user_id: uuid.UUID, *, new_password_hash: str | None = None) -> str:
        """The `mfa_token` of a sign-in whose password was right (kept: its request fails),
        after `is_required`. `new_password_hash`: a stronger hash of the password, to store
        once the challenge is passed."""
        token = new_token()
        expires_at = self.clock() + self.policy.mfa_token_ttl
        await self.apart.issue_challenge(hash_token(token), user_id, expires_at, new_password_hash)
        return token

    async def pass_challenge(
        self,
        mfa_token: str,
        *,
        email_of: Callable[[uuid.UUID], Awaitable[str]],
        code: str | None,
        recovery_code: str | None,
        client: ClientInfo,
    ) -> Passed:
        """The user whose challenge this is, once one factor checks out; the token then dies.
        A wrong code counts against the token and against the account's and the client's
        login limits, as a wrong password does."""
        ip_key = (self.policy.login_ip, f"login:ip:{client.ip}")
        await self.limiter.ensure_allowed(*ip_key)
        challenge = await self.challenges.find(hash_token(mfa_token), now=self.clock())
        if challenge is None:
            raise InvalidTokenError("The sign-in expired or was finished: sign in again")
        user_id = challenge.user_id
        email_key = (self.policy.login_email, login_limit_key(await email_of(user_id)))
        await self.limiter.ensure_allowed(*email_key)
        factor = "totp" if code is not None else "recovery_code"
        if code is not None:
            passed = await self._accept_totp(user_id, code)
        else:
            passed = await self.recovery_codes.use(
                user_id, _hash_code(recovery_code or ""), now=self.clock()
            )
        if not passed:
            await self.challenges.release_connection()  # as in `challenge`
            await self.apart.count_failure(challenge.id, self.policy.max_failures)
            await self._refuse(user_id, factor, (ip_key, email_key))
        if not await self.challenges.take(challenge.id):
            raise InvalidTokenError("The sign-in expired or was finished: sign in again")
        if factor == "recovery_code":
            await self.audit.record(RECOVERY_CODE_USED, actor_id=user_id, subject_id=user_id)
        return Passed(user_id, factor, challenge.new_password_hash)

    async def verify_code(
        self, user: User, code: str, *, client: ClientInfo, signed_in: bool = False
    ) -> None:
        """The user's current authenticator code, in one step (the admin console's sign-in,
        where the password comes in the same form, or a reauthentication); `InvalidCodeError`
        otherwise, counted against the login limits as a wrong code of `pass_challenge` is.
        A sign-in's failure is audited apart, before anything is written; a `signed_in`
        request (a reauthentication) may have written its session's `last_used_at`, so its
        failures are only counted."""
        keys = (
            (self.policy.login_ip, f"login:ip:{client.ip}"),
            (self.policy.login_email, login_limit_key(user.email)),
        )
        for rule, key in keys:
            await self.limiter.ensure_allowed(rule, key)
        if not await self._accept_totp(user.id, code):
            if signed_in:
                for rule, key in keys:
                    await self.limiter.hit(rule, key)
                raise InvalidCodeError()
            await self.totp.release_connection()
            await self._refuse(user.id, "totp", keys)

    async def _refuse(
        self, user_id: uuid.UUID, factor: str, limits: tuple[tuple[str, str], ...]
    ) -> NoReturn:
        for rule, key in limits:
            await self.limiter.hit(rule, key)
        details = {"factor": factor}
        await self.audit.record_apart(MFA_FAILED, subject_id=user_id, details=details)
        raise InvalidCodeError()

    async def turn_off(self, user: User) -> None:
        """The user's authenticator app and recovery codes gone (after a recent sign-in)."""
        if not await self.totp.remove(user.id):
            raise NotFoundError("No authenticator app is on for this account")
        await self.recovery_codes.remove_all(user.id)
        await self.audit.record(TOTP_DISABLED, actor_id=user.id, subject_id=user.id)

    async def reset(
        self, user: User, *, passkeys_removed: int = 0, actor_id: uuid.UUID | None = None
    ) -> bool:
        """The user's authenticator app and recovery codes removed (support, for a lost
        device; its passkeys, `passkeys_removed`, went before): whether there was anything."""
        removed = await self.totp.remove(user.id) or passkeys_removed > 0
        await self.recovery_codes.remove_all(user.id)
        if removed:
            details = {"passkeys": passkeys_removed}
            await self.audit.record(
                TOTP_RESET, actor_id=actor_id, subject_id=user.id, details=details
            )
        return removed

    async def reencrypt(self) -> int:
        """Every seed under the newest key (run after putting a new key first): how many
        were re-encrypted."""
        changed = 0
        for factor in await self.totp.all():
            if not self.box.is_current(factor.secret):
                factor.secret = self.box.reencrypt(factor.secret)
                changed += 1
        await self.totp.flush()
        return changed

    async def _accept_totp(self, user_id: uuid.UUID, code: str) -> bool:
        """Whether `code` is the user's, for a step within the window and after the last
        accepted one (a code is good once); that step is then the last."""
        factor = await self.totp.find(user_id, lock=True)
        if factor is None:
            return False
        totp = pyotp.TOTP(self.box.decrypt(factor.secret))
        now = int(self.clock().timestamp()) // STEP_SECONDS
        for step in range(now - WINDOW, now + WINDOW + 1):
            if factor.last_step is not None and step <= factor.last_step:
                continue
            if hmac.compare_digest(totp.generate_otp(step), code):
                factor.last_step = step
                await self.totp.flush()
                return True
        return False


def _recovery_code() -> str:
    """Ten letters and digits in two groups (`k3x9q-7mf2p`): about 52 bits, typed by hand."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
    letters = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{letters[:5]}-{letters[5:]}"


def _hash_code(code: str) -> str:
    # Typed by hand: case, spaces and the dash do not matter.
    return hash_token(code.strip().lower().replace("-", "").replace(" ", ""))
