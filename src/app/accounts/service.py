import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from app.accounts.audit import (
    EMAIL_CHANGE_CANCELLED,
    EMAIL_CHANGE_REQUESTED,
    EMAIL_CHANGED,
    EMAIL_VERIFIED,
    PASSWORD_RESET,
    VERIFICATION_RESENT,
)
from app.accounts.models import AccountToken, Purpose
from app.accounts.repository import AccountTokenRepository
from app.api_keys.service import ApiKeyService
from app.core.config import spelled_out
from app.core.errors import AlreadyExistsError, ConflictError, InvalidTokenError
from app.core.ratelimit import RateLimiter
from app.core.request import ClientInfo, Clock
from app.core.security import (
    CurrentPasswordCheck,
    PasswordHasher,
    check_new_password,
    hash_token,
    new_token,
)
from app.identity.models import User
from app.identity.schemas import normalise_email
from app.identity.service import AuditLog
from app.mail.sender import MailTemplates, Message
from app.mail.service import OutboxService
from app.sessions.service import UserSessionService
from app.users.service import UserService

# The outbox composer of password reset mails (see `compose_password_reset`).
PASSWORD_RESET_COMPOSER = "password_reset"  # noqa: S105 - a composer's name


@dataclass(frozen=True)
class AccountPolicy:
    password_reset_ttl: timedelta
    email_verification_ttl: timedelta
    email_change_ttl: timedelta
    # `limits` rules; an empty one is off.
    reset_per_email: str
    reset_per_ip: str
    mail_per_user: str


class AccountService:
    """Password reset, email verification and email change: each mails a single-use token (the
    mail is queued in this unit of work's outbox, sent after it commits) and acts when the
    token comes back. Nothing tells whether an address has an account, not even the time an
    answer takes. A password reset recovers the account: every session, mailed token and API
    key of it ends."""

    def __init__(
        self,
        repository: AccountTokenRepository,
        *,
        users: UserService,
        user_sessions: UserSessionService,
        api_keys: ApiKeyService,
        outbox: OutboxService,
        templates: MailTemplates,
        hasher: PasswordHasher,
        passwords: CurrentPasswordCheck,
        limiter: RateLimiter,
        policy: AccountPolicy,
        clock: Clock,
        audit: AuditLog,
    ):
        self.audit = audit
        self.repository = repository
        self.users = users
        self.user_sessions = user_sessions
        self.api_keys = api_keys
        self.outbox = outbox
        self.templates = templates
        self.hasher = hasher
        self.passwords = passwords
        self.limiter = limiter
        self.policy = policy
        self.clock = clock

    async def request_password_reset(self, email: str, *, client: ClientInfo) -> None:
        """A reset mail for this address, written when the outbox delivers it
        (`compose_password_reset`): the request does the same work whether an account uses
        the address or not. Rate limited per address and per client either way."""
        email = normalise_email(email)
        await self.limiter.hit(self.policy.reset_per_email, f"reset:email:{email}")
        await self.limiter.hit(self.policy.reset_per_ip, f"reset:ip:{client.ip}")
        await self.outbox.queue_composed(PASSWORD_RESET_COMPOSER, email)

    async def compose_password_reset(self, email: str) -> Message | None:
        """The reset link for the active account with this address; None when there is none."""
        user = await self.users.find_by_email(email)
        if user is None or not user.is_active:
            return None
        ttl = self.policy.password_reset_ttl
        token = await self._issue(user, Purpose.PASSWORD_RESET, ttl)
        return self.templates.render(
            "password_reset", user.email, token=token, ttl=spelled_out(ttl)
        )

    async def reset_password(self, token: str, new_password: str) -> None:
        """The new password (and the address counts as verified); every session, mailed token
        and API key of the account ends."""
        used = await self._take(token, Purpose.PASSWORD_RESET)
        user = used.user
        check_new_password(new_password, email=user.email)
        await self.users.set_password(user, await self.hasher.hash(new_password))
        # The link reached the address: it is the user's.
        await self.users.mark_email_verified(user, self.clock())
        await self.user_sessions.revoke_all(user.id)
        await self.api_keys.revoke_all(user.id)
        await self._record(PASSWORD_RESET, user)

    async def send_verification(self, user: User) -> None:
        ttl = self.policy.email_verification_ttl
        token = await self._issue(user, Purpose.EMAIL_VERIFICATION, ttl)
        await self._mail("email_verification", user.email, token=token, ttl=spelled_out(ttl))

    async def resend_verification(self, user: User, *, actor_id: uuid.UUID | None = None) -> None:
        """A new link, asked for by the user or by an administrator (`actor_id`)."""
        if user.email_verified_at is not None:
            raise ConflictError("The email address is already verified")
        await self.limiter.hit(self.policy.mail_per_user, f"account-mail:{user.id}")
        await self.send_verification(user)
        await self.audit.record(
            VERIFICATION_RESENT, actor_id=actor_id or user.id, subject_id=user.id
        )

    async def verify_email(self, token: str) -> None:
        used = await self._take(token, Purpose.EMAIL_VERIFICATION)
        await self.users.mark_email_verified(used.user, self.clock())
        await self._record(EMAIL_VERIFIED, used.user, details={"email": used.user.email})

    async def request_email_change(self, user: User, new_email: str, password: str) -> None:
        """A confirmation to the new address and, to the old one, a notice with a link that
        calls the change off. A taken address is answered alike, and fails at confirmation."""
        await self.limiter.hit(self.policy.mail_per_user, f"account-mail:{user.id}")
        await self.passwords.confirm(
            password, email=user.email, hashed_password=user.hashed_password
        )
        ttl = self.policy.email_change_ttl
        token = await self._issue(user, Purpose.EMAIL_CHANGE, ttl, new_email=new_email)
        cancel = await self._issue(user, Purpose.EMAIL_CHANGE_CANCEL, ttl)
        await self._mail(
            "email_change", new_email, token=token, old_email=user.email, ttl=spelled_out(ttl)
        )
        await self._mail(
            "email_change_notice",
            user.email,
            new_email=new_email,
            token=cancel,
            ttl=spelled_out(ttl),
        )
        await self._record(EMAIL_CHANGE_REQUESTED, user, details={"new_email": new_email})

    async def change_email(self, token: str) -> None:
        """The confirmed address becomes the user's (and counts as verified)."""
        used = await self._take(token, Purpose.EMAIL_CHANGE)
        new_email = used.new_email or ""
        if await self.users.find_by_email(new_email) is not None:
            raise AlreadyExistsError("A user with this email already exists")
        old_email = used.user.email
        await self.users.change_email(used.user, new_email, verified_at=self.clock())
        details = {"old_email": old_email, "new_email": new_email}
        await self._record(EMAIL_CHANGED, used.user, details=details)

    async def cancel_email_change(self, token: str) -> None:
        """The pending change of address, called off from the notice to the current one."""
        used = await self._take(token, Purpose.EMAIL_CHANGE_CANCEL)
        await self.repository.delete_of(used.user_id, Purpose.EMAIL_CHANGE)
        await self._record(EMAIL_CHANGE_CANCELLED, used.user)

    async def peek(self, token: str, purpose: Purpose) -> AccountToken:
        """The mailed token, with its user, if it would work now; nothing is used up (a page
        shows what the link will do before the user confirms)."""
        usable = await self.repository.find_usable(hash_token(token), purpose, now=self.clock())
        if usable is None:
            raise InvalidTokenError()
        return usable

    async def _issue(
        self, user: User, purpose: Purpose, lifetime: timedelta, new_email: str | None = None
    ) -> str:
        token = new_token()
        now = self.clock()
        await self.repository.replace(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            new_email=new_email,
            created_at=now,
            expires_at=now + lifetime,
            security_stamp=user.security_stamp,
        )
        return token

    async def _take(self, token: str, purpose: Purpose) -> AccountToken:
        used = await self.repository.take(hash_token(token), purpose, now=self.clock())
        if used is None:
            raise InvalidTokenError()
        return used

    async def _record(
        self, action: str, user: User, details: Mapping[str, object] | None = None
    ) -> None:
        """An act of the account's holder: they hold the mailed link or the password."""
        await self.audit.record(action, actor_id=user.id, subject_id=user.id, details=details)

    async def _mail(self, template: str, to: str, **values: str) -> None:
        await self.outbox.queue(self.templates.render(template, to, **values))
