from dataclasses import dataclass
from datetime import timedelta

from app.accounts.models import AccountToken, Purpose
from app.accounts.repository import AccountTokenRepository
from app.core.config import spelled_out
from app.core.errors import AlreadyExistsError, ConflictError, InvalidInputError, InvalidTokenError
from app.core.mail import MailTemplates
from app.core.ratelimit import RateLimiter
from app.core.request import ClientInfo, Clock
from app.core.security import PasswordHasher, check_new_password, hash_token, new_token
from app.mail.service import OutboxService
from app.sessions.service import UserSessionService
from app.users.models import User
from app.users.schemas import normalise_email
from app.users.service import UserService


@dataclass(frozen=True)
class AccountPolicy:
    password_reset_ttl: timedelta
    email_verification_ttl: timedelta
    email_change_ttl: timedelta
    # `limits` rules; an empty one is off.
    login_per_email: str
    reset_per_email: str
    reset_per_ip: str
    mail_per_user: str


class AccountService:
    """Password reset, email verification and email change: each mails a single-use token (the
    mail is queued in this unit of work's outbox, sent after it commits) and acts when the
    token comes back. Nothing tells whether an address has an account."""

    def __init__(
        self,
        repository: AccountTokenRepository,
        *,
        users: UserService,
        user_sessions: UserSessionService,
        outbox: OutboxService,
        templates: MailTemplates,
        hasher: PasswordHasher,
        limiter: RateLimiter,
        policy: AccountPolicy,
        clock: Clock,
    ):
        self.repository = repository
        self.users = users
        self.user_sessions = user_sessions
        self.outbox = outbox
        self.templates = templates
        self.hasher = hasher
        self.limiter = limiter
        self.policy = policy
        self.clock = clock

    async def request_password_reset(self, email: str, *, client: ClientInfo) -> None:
        """A reset link to the account with this address, if there is one (rate limited per
        address and per client either way)."""
        email = normalise_email(email)
        await self.limiter.hit(self.policy.reset_per_email, f"reset:email:{email}")
        await self.limiter.hit(self.policy.reset_per_ip, f"reset:ip:{client.ip}")
        user = await self.users.find_by_email(email)
        if user is None or not user.is_active:
            return
        ttl = self.policy.password_reset_ttl
        token = await self._issue(user, Purpose.PASSWORD_RESET, ttl)
        await self._mail("password_reset", user.email, token=token, ttl=spelled_out(ttl))

    async def reset_password(self, token: str, new_password: str) -> None:
        """The new password (and the address counts as verified); every session of the user
        ends, and the token is used up."""
        used = await self._take(token, Purpose.PASSWORD_RESET)
        user = used.user
        check_new_password(new_password, email=user.email)
        await self.users.set_password_hash(user, await self.hasher.hash(new_password))
        # The link reached the address: it is the user's.
        await self.users.mark_email_verified(user, self.clock())
        await self.user_sessions.revoke_all(user.id)

    async def send_verification(self, user: User) -> None:
        ttl = self.policy.email_verification_ttl
        token = await self._issue(user, Purpose.EMAIL_VERIFICATION, ttl)
        await self._mail("email_verification", user.email, token=token, ttl=spelled_out(ttl))

    async def resend_verification(self, user: User) -> None:
        if user.email_verified_at is not None:
            raise ConflictError("The email address is already verified")
        await self.limiter.hit(self.policy.mail_per_user, f"account-mail:{user.id}")
        await self.send_verification(user)

    async def verify_email(self, token: str) -> None:
        used = await self._take(token, Purpose.EMAIL_VERIFICATION)
        await self.users.mark_email_verified(used.user, self.clock())

    async def request_email_change(self, user: User, new_email: str, password: str) -> None:
        """A confirmation to the new address and a notice to the old one. A taken address is
        answered alike, and fails at confirmation."""
        await self.limiter.hit(self.policy.mail_per_user, f"account-mail:{user.id}")
        await self.confirm_password(user, password)
        ttl = self.policy.email_change_ttl
        token = await self._issue(user, Purpose.EMAIL_CHANGE, ttl, new_email=new_email)
        await self._mail(
            "email_change", new_email, token=token, old_email=user.email, ttl=spelled_out(ttl)
        )
        await self._mail("email_change_notice", user.email, new_email=new_email)

    async def change_email(self, token: str) -> None:
        """The confirmed address becomes the user's (and counts as verified)."""
        used = await self._take(token, Purpose.EMAIL_CHANGE)
        new_email = used.new_email or ""
        if await self.users.find_by_email(new_email) is not None:
            raise AlreadyExistsError("A user with this email already exists")
        await self.users.change_email(used.user, new_email, verified_at=self.clock())

    async def confirm_password(self, user: User, password: str) -> None:
        """The signed-in user's current password, before a change of credentials. Wrong ones
        count against the address's login limit, so a stolen session guesses no faster than
        a login could."""
        key = f"login:email:{user.email}"
        await self.limiter.ensure_allowed(self.policy.login_per_email, key)
        # The connection stays checked out while hashing: authentication may have written the
        # session's `last_used_at`, which releasing it would roll back. These changes are rare
        # and rate limited; logins, which write nothing first, release theirs.
        valid, _ = await self.hasher.verify(password, user.hashed_password)
        if not valid:
            await self.limiter.hit(self.policy.login_per_email, key)
            raise InvalidInputError(
                "Current password is incorrect", loc=("body", "current_password")
            )

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
        )
        return token

    async def _take(self, token: str, purpose: Purpose) -> AccountToken:
        used = await self.repository.take(hash_token(token), purpose, now=self.clock())
        if used is None:
            raise InvalidTokenError()
        return used

    async def _mail(self, template: str, to: str, **values: str) -> None:
        await self.outbox.queue(self.templates.render(template, to, **values))
