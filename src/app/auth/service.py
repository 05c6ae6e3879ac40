import uuid
from dataclasses import dataclass
from typing import Any

from app.accounts.service import AccountService
from app.auth.audit import LOGIN, LOGIN_FAILED, PASSWORD_CHANGED, REAUTHENTICATED, REGISTERED
from app.auth.schemas import PasswordChange
from app.core.errors import (
    EmailNotVerifiedError,
    InvalidCodeError,
    InvalidCredentialsError,
    MfaRequiredError,
)
from app.core.ratelimit import RateLimiter
from app.core.request import ClientInfo
from app.core.security import (
    CurrentPasswordCheck,
    PasswordHasher,
    check_new_password,
    login_limit_key,
)
from app.factors.service import FactorService
from app.identity.models import User, UserSession
from app.identity.schemas import normalise_email
from app.identity.service import AuditLog, Target
from app.passkeys.schemas import PasskeyAssertion
from app.passkeys.service import PasskeyService
from app.sessions.service import UserSessionService
from app.users.schemas import UserCreate
from app.users.service import UserService


@dataclass(frozen=True)
class AuthLimits:
    """Rules in the `limits` notation; an empty one is off."""

    login_email: str
    login_ip: str
    register_ip: str


class AuthService:
    """Registration, login and password change: credentials in, sessions out."""

    def __init__(
        self,
        *,
        users: UserService,
        user_sessions: UserSessionService,
        hasher: PasswordHasher,
        limiter: RateLimiter,
        limits: AuthLimits,
        accounts: AccountService,
        passwords: CurrentPasswordCheck,
        audit: AuditLog,
        factors: FactorService,
        passkeys: PasskeyService,
        require_verified_email: bool = False,
    ):
        self.audit = audit
        self.factors = factors
        self.passkeys = passkeys
        self.accounts = accounts
        self.passwords = passwords
        self.require_verified_email = require_verified_email
        self.users = users
        self.user_sessions = user_sessions
        self.hasher = hasher
        self.limiter = limiter
        self.limits = limits

    async def register(self, data: UserCreate, *, client: ClientInfo) -> User:
        await self.limiter.hit(self.limits.register_ip, f"register:ip:{client.ip}")
        hashed_password = await self.hasher.hash(data.password)
        user = await self.users.create(
            email=data.email, hashed_password=hashed_password, full_name=data.full_name
        )
        await self.accounts.send_verification(user)
        target = Target("user", user.id)
        await self.audit.record(REGISTERED, actor_id=user.id, subject_id=user.id, target=target)
        return user

    async def login(
        self, email: str, password: str, *, client: ClientInfo
    ) -> tuple[UserSession, str]:
        """A new session for valid credentials of an active user; `MfaRequiredError` instead
        when the account has a second factor."""
        user, new_hash = await self._verify(email, password, client=client)
        if await self.factors.is_required(user.id):
            # Nothing written yet: the challenge is kept apart (with the stronger hash, for
            # when it is passed), and the rest rolls back.
            token = await self.factors.challenge(user.id, new_password_hash=new_hash)
            raise MfaRequiredError(token)
        if new_hash is not None:
            await self.users.upgrade_password_hash(user, new_hash)
        return await self.start_session(user, client=client)

    async def login_with_factor(
        self,
        mfa_token: str,
        *,
        code: str | None,
        recovery_code: str | None,
        client: ClientInfo,
    ) -> tuple[UserSession, str]:
        """The session of a sign-in that answered `MFA_REQUIRED`, once its factor checks out."""
        passed = await self.factors.pass_challenge(
            mfa_token,
            email_of=self._email_of,
            code=code,
            recovery_code=recovery_code,
            client=client,
        )
        user = await self.users.get(passed.user_id)
        if not user.is_active:
            raise InvalidCredentialsError()
        if passed.new_password_hash is not None:
            await self.users.upgrade_password_hash(user, passed.new_password_hash)
        return await self.start_session(user, client=client, factor=passed.factor)

    async def login_with_passkey(
        self, challenge_id: uuid.UUID, credential: dict[str, Any], *, client: ClientInfo
    ) -> tuple[UserSession, str]:
        """The session of a passkey's sign-in: both factors in one (the device verified its
        user), so no second step."""
        user_id = await self.passkeys.sign_in(challenge_id, credential, client=client)
        user = await self.users.get(user_id)
        if not user.is_active:
            raise InvalidCredentialsError("The passkey could not be verified")
        if self.require_verified_email and user.email_verified_at is None:
            raise EmailNotVerifiedError()
        return await self.start_session(user, client=client, factor="passkey")

    async def start_session(
        self, user: User, *, client: ClientInfo, factor: str | None = None
    ) -> tuple[UserSession, str]:
        """A new session for a user `authenticate` let through (and their second `factor`)."""
        user_session, token = await self.user_sessions.start(
            user.id, client=client, second_factor=factor
        )
        target = Target("session", user_session.id)
        details = {"second_factor": factor} if factor else None
        await self.audit.record(
            LOGIN, actor_id=user.id, subject_id=user.id, target=target, details=details
        )
        return user_session, token

    async def authenticate(self, email: str, password: str, *, client: ClientInfo) -> User:
        """The active user these credentials are, for a login or an act that needs only them
        (accepting an invitation from its page).

        Unknown email, wrong password and inactive user fail alike (same error, same work) and
        count against the per-email and per-IP limits.
        """
        user, new_hash = await self._verify(email, password, client=client)
        if new_hash is not None:
            await self.users.upgrade_password_hash(user, new_hash)
        return user

    async def _verify(
        self, email: str, password: str, *, client: ClientInfo
    ) -> tuple[User, str | None]:
        """The user, and a stronger hash of their password when the parameters changed."""
        email = normalise_email(email)
        keys = (
            (self.limits.login_email, login_limit_key(email)),
            (self.limits.login_ip, f"login:ip:{client.ip}"),
        )
        for rule, key in keys:
            await self.limiter.ensure_allowed(rule, key)
        user = await self.users.get_for_login_and_release_connection(email)
        valid, new_hash = await self.hasher.verify(password, user.hashed_password if user else None)
        if user is None or not valid or not user.is_active:
            for rule, key in keys:
                await self.limiter.hit(rule, key)
            reason = "unknown_email" if user is None else "inactive" if valid else "wrong_password"
            await self.refuse(email, user, reason)
            raise InvalidCredentialsError()
        if self.require_verified_email and user.email_verified_at is None:
            await self.refuse(email, user, "unverified")
            raise EmailNotVerifiedError()
        return user, new_hash

    async def authenticate_with_factor(
        self, email: str, password: str, code: str, *, client: ClientInfo
    ) -> tuple[User, str | None]:
        """As `authenticate`, with the account's second factor in the same step when it has
        one (`code`): the user, and the factor that was checked."""
        user, new_hash = await self._verify(email, password, client=client)
        factor = None
        if await self.factors.is_required(user.id):
            await self.factors.verify_code(user, code, client=client)
            factor = "totp"
        if new_hash is not None:
            await self.users.upgrade_password_hash(user, new_hash)
        return user, factor

    async def reauthenticate(
        self,
        current: UserSession,
        *,
        password: str | None,
        code: str | None,
        passkey: PasskeyAssertion | None = None,
        client: ClientInfo,
    ) -> None:
        """The session's user proves who they are again, with the password, a code of their
        authenticator app or one of their passkeys; wrong tries fail as a sign-in's do."""
        user = current.user
        factor: str | None = None
        if password is not None:
            await self._confirm_password(user, password, client=client)
        elif passkey is not None:
            await self.passkeys.reauthenticate(
                user, passkey.challenge_id, passkey.credential, client=client
            )
            factor = "passkey"
        elif not await self.factors.has_app(user.id):
            raise InvalidCodeError("This account has no authenticator app: use the password")
        else:
            await self.factors.verify_code(user, code or "", client=client, signed_in=True)
            factor = "totp"
        await self.user_sessions.reauthenticated(current, second_factor=factor)
        await self.audit.record(
            REAUTHENTICATED,
            actor_id=user.id,
            subject_id=user.id,
            target=Target("session", current.id),
            details={"with": factor or "password"},
        )

    async def _confirm_password(self, user: User, password: str, *, client: ClientInfo) -> None:
        """As a sign-in checks it (same limits, same 401), in a request that may have written
        its session's `last_used_at` already: nothing is released or written apart."""
        keys = (
            (self.limits.login_email, login_limit_key(user.email)),
            (self.limits.login_ip, f"login:ip:{client.ip}"),
        )
        for rule, key in keys:
            await self.limiter.ensure_allowed(rule, key)
        valid, _ = await self.hasher.verify(password, user.hashed_password)
        if not valid:
            for rule, key in keys:
                await self.limiter.hit(rule, key)
            raise InvalidCredentialsError()

    async def _email_of(self, user_id: uuid.UUID) -> str:
        return (await self.users.get(user_id)).email

    async def refuse(self, email: str, user: User | None, reason: str) -> None:
        """A refused sign-in, recorded although its request fails (its unit of work rolls
        back)."""
        subject = user.id if user else None
        details = {"email": email, "reason": reason}
        await self.audit.record_apart(LOGIN_FAILED, subject_id=subject, details=details)

    async def change_password(self, current: UserSession, data: PasswordChange) -> None:
        """New password; every other session of the user ends, and every token mailed to
        them dies."""
        user = current.user
        check_new_password(data.new_password, email=user.email)
        await self.passwords.confirm(
            data.current_password, email=user.email, hashed_password=user.hashed_password
        )
        await self.users.set_password(user, await self.hasher.hash(data.new_password))
        await self.user_sessions.revoke_all(user.id, keep=current.id)
        await self.audit.record(PASSWORD_CHANGED, actor_id=user.id, subject_id=user.id)
