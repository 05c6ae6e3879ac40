"""Passkeys (WebAuthn, through py_webauthn): registered by a signed-in user, then signing in on
their own, as discoverable credentials. User verification is required both times (the device's
PIN or biometrics), so a passkey counts as two factors: something held, and something known or
been."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.core.errors import (
    AlreadyExistsError,
    InvalidCredentialsError,
    InvalidInputError,
    NotFoundError,
)
from app.core.ratelimit import RateLimiter
from app.core.request import ClientInfo, Clock
from app.identity.models import User
from app.identity.service import AuditLog, Target
from app.passkeys.audit import PASSKEY_ADDED, PASSKEY_FAILED, PASSKEY_REMOVED, PASSKEY_RENAMED
from app.passkeys.models import Passkey, PasskeyChallenge
from app.passkeys.repository import PasskeyChallengeRepository, PasskeyRepository

REGISTER = "register"
LOGIN = "login"
REAUTH = "reauth"
EXPIRED = "The passkey ceremony expired or was finished: start it again"


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys are for: `id` is a domain (`example.com`, never an IP address), which
    each origin's host must be or end with."""

    id: str
    name: str
    origins: list[str]
    challenge_ttl: timedelta
    # A `limits` rule per client address (the login one): refused assertions count.
    login_ip: str


@dataclass(frozen=True)
class PasskeyOptions:
    """What the browser's `navigator.credentials.create()` or `.get()` takes as `publicKey`,
    and the challenge's id to send back with its answer."""

    challenge_id: uuid.UUID
    public_key: dict[str, Any]


class PasskeyService:
    def __init__(
        self,
        *,
        passkeys: PasskeyRepository,
        challenges: PasskeyChallengeRepository,
        limiter: RateLimiter,
        audit: AuditLog,
        rp: RelyingParty,
        clock: Clock,
    ):
        self.passkeys = passkeys
        self.challenges = challenges
        self.limiter = limiter
        self.audit = audit
        self.rp = rp
        self.clock = clock

    async def registration_options(self, user: User) -> PasskeyOptions:
        """A new passkey for the user, on a device that has none of theirs yet; resident (so
        it signs in without an email) and user-verifying."""
        existing = [
            PublicKeyCredentialDescriptor(id=each.credential_id)
            for each in await self.passkeys.of_user(user.id)
        ]
        options = generate_registration_options(
            rp_id=self.rp.id,
            rp_name=self.rp.name,
            user_id=user.id.bytes,
            user_name=user.email,
            user_display_name=user.full_name or user.email,
            timeout=self._timeout_ms(),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=existing,
        )
        return await self._options(options, options.challenge, REGISTER, user.id)

    async def register(
        self, user: User, challenge_id: uuid.UUID, credential: dict[str, Any], name: str
    ) -> Passkey:
        """The passkey the browser made for `registration_options`' challenge."""
        challenge = await self._challenge(challenge_id, REGISTER, user.id, InvalidInputError)
        try:
            parsed = parse_registration_credential_json(credential)
            verified = verify_registration_response(
                credential=parsed,
                expected_challenge=challenge.challenge,
                expected_rp_id=self.rp.id,
                expected_origin=self.rp.origins,
                require_user_verification=True,
            )
        except WebAuthnException as error:
            raise InvalidInputError(f"The passkey could not be registered: {error}") from error
        if await self.passkeys.by_credential_id(verified.credential_id) is not None:
            raise AlreadyExistsError("This passkey is registered already")
        if not await self.challenges.take(challenge.id):
            raise InvalidInputError(EXPIRED)
        passkey = await self.passkeys.add(
            Passkey(
                user_id=user.id,
                credential_id=verified.credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=[each.value for each in parsed.response.transports or ()],
                name=name,
                backed_up=verified.credential_backed_up,
                created_at=self.clock(),
            )
        )
        await self._record(PASSKEY_ADDED, user, passkey)
        return passkey

    async def list_of(self, user: User) -> Sequence[Passkey]:
        return await self.passkeys.of_user(user.id)

    async def rename(self, user: User, passkey_id: uuid.UUID, name: str) -> Passkey:
        passkey = await self._own(user, passkey_id)
        passkey.name = name
        await self.passkeys.flush()
        await self._record(PASSKEY_RENAMED, user, passkey)
        return passkey

    async def remove(self, user: User, passkey_id: uuid.UUID) -> None:
        passkey = await self._own(user, passkey_id)
        await self.passkeys.remove(passkey)
        await self._record(PASSKEY_REMOVED, user, passkey)

    async def login_options(self) -> PasskeyOptions:
        """An assertion by any passkey of ours the device holds (it lists them)."""
        options = generate_authentication_options(
            rp_id=self.rp.id,
            timeout=self._timeout_ms(),
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return await self._options(options, options.challenge, LOGIN, None)

    async def reauth_options(self, user: User) -> PasskeyOptions:
        """An assertion by one of the signed-in user's passkeys."""
        allowed = [
            PublicKeyCredentialDescriptor(id=each.credential_id)
            for each in await self.passkeys.of_user(user.id)
        ]
        if not allowed:
            raise NotFoundError("This account has no passkey: use the password")
        options = generate_authentication_options(
            rp_id=self.rp.id,
            timeout=self._timeout_ms(),
            allow_credentials=allowed,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return await self._options(options, options.challenge, REAUTH, user.id)

    async def sign_in(
        self, challenge_id: uuid.UUID, credential: dict[str, Any], *, client: ClientInfo
    ) -> uuid.UUID:
        """The user whose passkey answered `login_options`' challenge. Asked before anything
        is written: a refusal is audited apart, on the connection this hands back."""
        ip_key = f"login:ip:{client.ip}"
        await self.limiter.ensure_allowed(self.rp.login_ip, ip_key)
        challenge = await self._challenge(challenge_id, LOGIN, None, InvalidCredentialsError)
        passkey = await self._verified(challenge, credential, ip_key=ip_key, audited=True)
        return passkey.user_id

    async def reauthenticate(
        self,
        user: User,
        challenge_id: uuid.UUID,
        credential: dict[str, Any],
        *,
        client: ClientInfo,
    ) -> None:
        """The signed-in user's passkey answered `reauth_options`' challenge. The request may
        have written its session's `last_used_at`: a refusal is only counted."""
        ip_key = f"login:ip:{client.ip}"
        await self.limiter.ensure_allowed(self.rp.login_ip, ip_key)
        challenge = await self._challenge(challenge_id, REAUTH, user.id, InvalidCredentialsError)
        await self._verified(challenge, credential, ip_key=ip_key, audited=False)

    async def _verified(
        self,
        challenge: PasskeyChallenge,
        credential: dict[str, Any],
        *,
        ip_key: str,
        audited: bool,
    ) -> Passkey:
        """The passkey that signed the challenge, its counter moved on; the challenge gone."""
        try:
            parsed = parse_authentication_credential_json(credential)
        except WebAuthnException:
            await self._refuse(None, "malformed", ip_key, audited)
        passkey = await self.passkeys.by_credential_id(parsed.raw_id)
        if passkey is None or (challenge.user_id and passkey.user_id != challenge.user_id):
            await self._refuse(None, "unknown_passkey", ip_key, audited)
        handle = parsed.response.user_handle
        if handle is not None and handle != passkey.user_id.bytes:
            await self._refuse(passkey, "wrong_user", ip_key, audited)
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=challenge.challenge,
                expected_rp_id=self.rp.id,
                expected_origin=self.rp.origins,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except WebAuthnException:
            reason = "stale_sign_count" if _stale(parsed, passkey) else "invalid_assertion"
            await self._refuse(passkey, reason, ip_key, audited)
        if not await self.challenges.take(challenge.id):
            raise InvalidCredentialsError(EXPIRED)
        if not await self.passkeys.move_counter(
            passkey,
            verified.new_sign_count,
            backed_up=verified.credential_backed_up,
            now=self.clock(),
        ):
            raise InvalidCredentialsError("The passkey was used twice at once: try again")
        return passkey

    async def _refuse(
        self, passkey: Passkey | None, reason: str, ip_key: str, audited: bool
    ) -> NoReturn:
        await self.limiter.hit(self.rp.login_ip, ip_key)
        if audited:
            await self.passkeys.release_connection()
            target = Target("passkey", passkey.id) if passkey else None
            await self.audit.record_apart(
                PASSKEY_FAILED,
                subject_id=passkey.user_id if passkey else None,
                target=target,
                details={"reason": reason},
            )
        raise InvalidCredentialsError("The passkey could not be verified")

    async def _options(
        self, options: Any, challenge: bytes, purpose: str, user_id: uuid.UUID | None
    ) -> PasskeyOptions:
        now = self.clock()
        challenge_id = await self.challenges.add(
            challenge,
            purpose=purpose,
            user_id=user_id,
            now=now,
            expires_at=now + self.rp.challenge_ttl,
        )
        return PasskeyOptions(challenge_id, json.loads(options_to_json(options)))

    async def _challenge(
        self,
        challenge_id: uuid.UUID,
        purpose: str,
        user_id: uuid.UUID | None,
        error: type[InvalidInputError | InvalidCredentialsError],
    ) -> PasskeyChallenge:
        challenge = await self.challenges.find(challenge_id, purpose=purpose, now=self.clock())
        if challenge is None or challenge.user_id != user_id:
            raise error(EXPIRED)
        return challenge

    async def _own(self, user: User, passkey_id: uuid.UUID) -> Passkey:
        passkey = await self.passkeys.find(user.id, passkey_id)
        if passkey is None:
            raise NotFoundError("Passkey not found")
        return passkey

    async def _record(self, action: str, user: User, passkey: Passkey) -> None:
        await self.audit.record(
            action,
            actor_id=user.id,
            subject_id=user.id,
            target=Target("passkey", passkey.id),
            details={"name": passkey.name},
        )

    def _timeout_ms(self) -> int:
        return int(self.rp.challenge_ttl.total_seconds() * 1000)


def _stale(parsed: AuthenticationCredential, passkey: Passkey) -> bool:
    """Whether the assertion's counter is not past the last one seen: the authenticator, or a
    copy of its key, signed with an older state (WebAuthn §6.1.1)."""
    try:
        count = parse_authenticator_data(bytes(parsed.response.authenticator_data)).sign_count
    except WebAuthnException:
        return False
    return (count > 0 or passkey.sign_count > 0) and count <= passkey.sign_count
