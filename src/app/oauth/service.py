import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from app.core.errors import (
    ConflictError,
    InvalidTokenError,
    MfaRequiredError,
    NotFoundError,
    RateLimitedError,
    ServiceUnavailableError,
)
from app.core.ratelimit import RateLimiter
from app.core.request import ClientInfo, Clock
from app.core.security import hash_token, new_token
from app.factors.service import FactorService
from app.identity.models import User, UserSession
from app.identity.service import AuditLog, Target
from app.oauth.audit import (
    IDENTITY_LINKED,
    IDENTITY_UNLINKED,
    OAUTH_LOGIN,
    OAUTH_LOGIN_FAILED,
    OAUTH_REGISTERED,
)
from app.oauth.models import CodePurpose, UserIdentity
from app.oauth.providers import (
    Profile,
    Provider,
    ProviderError,
    ProviderRegistry,
    ProviderUnavailableError,
)
from app.oauth.repository import IdentityRepository, OAuthCodeRepository, OAuthStateRepository
from app.oauth.schemas import SignInError
from app.sessions.service import UserSessionService
from app.users.service import UserService

API_PREFIX = "/api/v1/auth/oauth"
# Where a sign-in lands unless the client names a path, and where every failure lands.
RESULT_PAGE = "/account/signed-in"


@dataclass(frozen=True)
class OAuthPolicy:
    public_url: str
    state_ttl: timedelta
    code_ttl: timedelta
    # `limits` rules; an empty one is off.
    start_per_ip: str
    login_per_ip: str
    retry_after: int


@dataclass(frozen=True)
class Started:
    """Send the browser to `url`, holding `browser_secret` in a cookie for the callback."""

    url: str
    browser_secret: str


@dataclass(frozen=True)
class ProviderAnswer:
    """What the provider sent back to the callback, as it came."""

    state: str | None
    code: str | None
    error: str | None


class SignInRefusedError(Exception):
    def __init__(self, reason: SignInError, user_id: uuid.UUID | None = None):
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id  # the account it would have signed in as, when known


class OAuthService:
    """Sign-in with a provider: start (state, nonce and PKCE, bound to the browser), finish
    (the provider's answer checked, the account found, linked or made), and the single-use
    login code the front end exchanges for a session. An identity is linked to an account
    by email only when the provider and the account both have the address verified;
    otherwise its owner signs in and links it explicitly."""

    def __init__(
        self,
        *,
        states: OAuthStateRepository,
        codes: OAuthCodeRepository,
        identities: IdentityRepository,
        providers: ProviderRegistry,
        users: UserService,
        user_sessions: UserSessionService,
        limiter: RateLimiter,
        audit: AuditLog,
        factors: FactorService,
        policy: OAuthPolicy,
        clock: Clock,
    ):
        self.states = states
        self.codes = codes
        self.identities = identities
        self.providers = providers
        self.users = users
        self.user_sessions = user_sessions
        self.limiter = limiter
        self.audit = audit
        self.factors = factors
        self.policy = policy
        self.clock = clock

    def listed(self) -> list[Provider]:
        return list(self.providers.by_name.values())

    async def start(
        self,
        name: str,
        *,
        redirect_to: str | None,
        link_code: str | None,
        client: ClientInfo,
    ) -> Started:
        provider = self._provider(name)
        await self.limiter.hit(self.policy.start_per_ip, f"oauth:ip:{client.ip}")
        link_user_id = None
        if link_code is not None:
            ticket = await self.codes.take(
                hash_token(link_code), CodePurpose.LINK, now=self.clock()
            )
            if ticket is None:
                raise InvalidTokenError("The link to connect an account is invalid or expired")
            link_user_id = ticket.user_id
        state, nonce, verifier, browser = new_token(), new_token(), new_token(), new_token()
        now = self.clock()
        await self.states.delete_expired(now=now)
        await self.states.add(
            state_hash=hash_token(state),
            browser_hash=hash_token(browser),
            provider=name,
            nonce=nonce,
            code_verifier=verifier,
            redirect_to=redirect_to or RESULT_PAGE,
            link_user_id=link_user_id,
            expires_at=now + self.policy.state_ttl,
        )
        try:
            url = await provider.authorization_url(
                self._callback(name), state=state, nonce=nonce, code_verifier=verifier
            )
        except (ProviderError, ProviderUnavailableError) as error:
            raise ServiceUnavailableError(
                f"{provider.display_name} cannot be reached; try again later",
                retry_after=self.policy.retry_after,
            ) from error
        return Started(url, browser)

    async def finish(
        self,
        name: str,
        answer: ProviderAnswer,
        *,
        browser_secret: str | None,
        client: ClientInfo,
    ) -> str:
        """Where the browser goes next: the client's path with a login code in the fragment,
        or the result page with the reason it failed. The state is used up either way."""
        limit_key = f"login:ip:{client.ip}"
        try:
            await self.limiter.ensure_allowed(self.policy.login_per_ip, limit_key)
        except RateLimitedError:
            return self._failed(SignInError.RATE_LIMITED)
        try:
            return await self._finish(name, answer, browser_secret)
        except SignInRefusedError as refused:
            await self.limiter.hit(self.policy.login_per_ip, limit_key)
            details = {"provider": name, "reason": refused.reason.value}
            # The answer commits (the state is used up), and the event with it.
            await self.audit.record(OAUTH_LOGIN_FAILED, subject_id=refused.user_id, details=details)
            return self._failed(refused.reason)

    async def exchange(self, login_code: str, *, client: ClientInfo) -> tuple[UserSession, str]:
        """The session a login code stands for; the code works once. Wrong codes count
        against the client's login limit. An account with a second factor gets
        `MfaRequiredError` instead, as a password sign-in does."""
        limit_key = f"login:ip:{client.ip}"
        await self.limiter.ensure_allowed(self.policy.login_per_ip, limit_key)
        code_hash = hash_token(login_code)
        user_id = await self.codes.user_of(code_hash, CodePurpose.LOGIN, now=self.clock())
        if user_id is not None and await self.factors.is_required(user_id):
            # The provider stands for the password, not for the second factor. The code
            # stays until it expires (this request rolls back): each use only gets a challenge.
            raise MfaRequiredError(await self.factors.challenge(user_id))
        taken = await self.codes.take(code_hash, CodePurpose.LOGIN, now=self.clock())
        if taken is None:
            await self.limiter.hit(self.policy.login_per_ip, limit_key)
            raise InvalidTokenError("The login code is invalid, expired or already used")
        started, token = await self.user_sessions.start(taken.user_id, client=client)
        await self.audit.record(
            OAUTH_LOGIN,
            actor_id=taken.user_id,
            subject_id=taken.user_id,
            target=Target("session", started.id),
        )
        return started, token

    async def link_ticket(self, user: User, name: str, *, redirect_to: str | None) -> str:
        """The URL that starts linking `name`'s account to `user`, in their browser, once."""
        self._provider(name)
        ticket = await self._issue(user.id, CodePurpose.LINK)
        query = {"link_code": ticket, **({"redirect_to": redirect_to} if redirect_to else {})}
        return f"{self.policy.public_url}{API_PREFIX}/{name}/authorize?{urlencode(query)}"

    async def identities_of(self, user: User) -> Sequence[UserIdentity]:
        return await self.identities.list_of(user.id)

    async def unlink(self, user: User, identity_id: uuid.UUID) -> None:
        """Removes one of the user's identities, unless it is their last way to sign in."""
        identities = await self.identities.lock_all_of(user.id)
        identity = next((each for each in identities if each.id == identity_id), None)
        if identity is None:
            raise NotFoundError("Identity not found")
        if user.hashed_password is None and len(identities) == 1:
            raise ConflictError(
                "This is the account's only way to sign in: set a password (password reset) "
                "or link another provider first"
            )
        await self.identities.remove(identity)
        await self.audit.record(
            IDENTITY_UNLINKED,
            actor_id=user.id,
            subject_id=user.id,
            target=Target("identity", identity.id),
            details={"provider": identity.provider},
        )

    async def _finish(self, name: str, answer: ProviderAnswer, browser_secret: str | None) -> str:
        started = await self.states.take(hash_token(answer.state or ""), now=self.clock())
        provider = self.providers.get(name)
        if (
            started is None
            or provider is None
            or started.provider != name
            or browser_secret is None
            or hash_token(browser_secret) != started.browser_hash
        ):
            raise SignInRefusedError(SignInError.INVALID_STATE)
        if answer.error is not None or not answer.code:
            raise SignInRefusedError(SignInError.PROVIDER_REFUSED)
        profile = await self._profile(provider, answer.code, started.nonce, started.code_verifier)
        if started.link_user_id is not None:
            await self._link(name, profile, started.link_user_id)
            return self._landing(started.redirect_to, query={"linked": name})
        user = await self._user_for(name, profile)
        login_code = await self._issue(user.id, CodePurpose.LOGIN)
        return self._landing(started.redirect_to, fragment={"login_code": login_code})

    async def _profile(self, provider: Provider, code: str, nonce: str, verifier: str) -> Profile:
        try:
            return await provider.profile(
                self._callback(provider.name), code=code, nonce=nonce, code_verifier=verifier
            )
        except ProviderUnavailableError as error:
            raise SignInRefusedError(SignInError.UNAVAILABLE) from error
        except ProviderError as error:
            raise SignInRefusedError(SignInError.INVALID_RESPONSE) from error

    async def _user_for(self, name: str, profile: Profile) -> User:
        """The account this identity signs in as: its own, one with the same verified
        address (linked now), or a new one."""
        now = self.clock()
        identity = await self.identities.find(name, profile.subject)
        if identity is not None:
            if not identity.user.is_active:
                raise SignInRefusedError(SignInError.INACTIVE, identity.user_id)
            await self.identities.touch(identity, email=profile.email, now=now)
            return identity.user
        if not profile.email or not profile.email_verified:
            raise SignInRefusedError(SignInError.EMAIL_NOT_VERIFIED)
        user = await self.users.find_by_email(profile.email)
        if user is None:
            user = await self.users.create(
                email=profile.email, hashed_password=None, full_name=profile.name
            )
            await self.users.mark_email_verified(user, now)
            details = {"provider": name}
            await self.audit.record(
                OAUTH_REGISTERED, actor_id=user.id, subject_id=user.id, details=details
            )
            how = "registration"
        elif user.email_verified_at is None:
            raise SignInRefusedError(SignInError.ACCOUNT_EXISTS, user.id)
        elif not user.is_active:
            raise SignInRefusedError(SignInError.INACTIVE, user.id)
        else:
            how = "address"
        await self._add_identity(user.id, name, profile, by=how)
        return user

    async def _link(self, name: str, profile: Profile, user_id: uuid.UUID) -> None:
        identity = await self.identities.find(name, profile.subject)
        if identity is not None:
            if identity.user_id != user_id:
                raise SignInRefusedError(SignInError.ALREADY_LINKED, user_id)
            return
        await self._add_identity(user_id, name, profile, by="user")

    async def _add_identity(
        self, user_id: uuid.UUID, name: str, profile: Profile, *, by: str
    ) -> None:
        """`by`: how it came to be linked: "registration" (the account was made from it),
        "address" (the verified addresses matched) or "user" (its user linked it)."""
        now = self.clock()
        identity = await self.identities.create(
            user_id=user_id,
            provider=name,
            subject=profile.subject,
            email=profile.email,
            created_at=now,
            last_used_at=now,
        )
        await self.audit.record(
            IDENTITY_LINKED,
            actor_id=user_id,
            subject_id=user_id,
            target=Target("identity", identity.id),
            details={"provider": name, "by": by},
        )

    async def _issue(self, user_id: uuid.UUID, purpose: CodePurpose) -> str:
        code = new_token()
        await self.codes.add(
            code_hash=hash_token(code),
            purpose=purpose,
            user_id=user_id,
            expires_at=self.clock() + self.policy.code_ttl,
        )
        return code

    def _provider(self, name: str) -> Provider:
        provider = self.providers.get(name)
        if provider is None:
            raise NotFoundError("No sign-in provider of this name")
        return provider

    def _callback(self, name: str) -> str:
        return f"{self.policy.public_url}{API_PREFIX}/{name}/callback"

    def _failed(self, reason: SignInError) -> str:
        return self._landing(RESULT_PAGE, query={"error": reason.value})

    def _landing(
        self,
        path: str,
        *,
        query: dict[str, str] | None = None,
        fragment: dict[str, str] | None = None,
    ) -> str:
        parts = urlsplit(path)
        extra = urlencode(query or {})
        joined = "&".join(part for part in (parts.query, extra) if part)
        target = urlunsplit(("", "", parts.path, joined, urlencode(fragment or {})))
        return f"{self.policy.public_url}{target}"
