"""Passwords (what they must be; Argon2id, off the event loop) and opaque session tokens."""

import hashlib
import secrets
import time
import unicodedata
from collections.abc import Callable
from typing import TypeVar

import anyio
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.core.config import Settings
from app.core.errors import InvalidInputError, ServiceUnavailableError
from app.core.ratelimit import RateLimiter

T = TypeVar("T")

TOKEN_BYTES = 32  # 256 bits

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
# The 30,000 most common passwords of real leaks, as zxcvbn ships them (a data file in the
# package, nothing fetched); shorter ones fail the length rule anyway.
COMMON_PASSWORDS = frozenset(
    word for word in FREQUENCY_LISTS["passwords"] if len(word) >= PASSWORD_MIN_LENGTH
)
# Letters that render as blank space although Unicode does not class them as spaces.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why `password` is refused, or None. NIST SP 800-63B §3.1.1.2: a length (checked by the
    schemas), no composition rules, but never a blank, a common or the account's own email."""
    visible = [char for char in password if not _invisible(char)]
    if not visible:
        return "must contain something besides whitespace and invisible characters"
    if len(set(visible)) == 1:
        return "must not be a single character repeated"
    folded = password.strip().casefold()
    if folded in COMMON_PASSWORDS:
        return "is one of the most common passwords; choose another"
    if email and folded in {email.casefold(), email.split("@")[0].casefold()}:
        return "must not be your email address"
    return None


def check_new_password(password: str, *, email: str) -> None:
    """`password_problem` for a password replacing another: a 422 on `new_password`."""
    if problem := password_problem(password, email=email):
        raise InvalidInputError(f"New password {problem}", loc=("body", "new_password"))


def _invisible(char: str) -> bool:
    # Separators (Z*), controls, formats such as zero-width spaces, and unassigned (C*), and
    # combining marks with nothing to combine with (M*).
    return unicodedata.category(char)[0] in "ZCM" or char in _BLANK_LETTERS


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_security_stamp() -> str:
    return secrets.token_hex(16)


def hash_token(token: str) -> str:
    """Only this digest is stored: a leaked table does not yield usable tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


class PasswordHasher:
    """Argon2id in worker threads, at most `concurrency` at a time.

    The cap keeps a login storm from occupying every thread and the whole CPU, so the event
    loop goes on answering other requests. A request that waits longer than `queue_timeout` for
    a slot is answered 503 with `Retry-After` instead of queueing without bound, and one that
    could not get a slot in time anyway (the queue ahead of it, at the recent hashing speed) is
    answered at once rather than after waiting for nothing.
    """

    # Weight of the newest duration in the moving average of hashing times.
    SMOOTHING = 0.2

    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        concurrency: int,
        queue_timeout: float = 10.0,
        retry_after: int = 5,
    ) -> None:
        hasher = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._hash = PasswordHash((hasher,))
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._seconds_per_hash = 0.0
        self._queue_timeout = queue_timeout
        self._retry_after = retry_after
        self._dummy_hash: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "PasswordHasher":
        return cls(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
            concurrency=settings.password_hash_concurrency,
            queue_timeout=settings.password_hash_queue_timeout,
            retry_after=settings.retry_after_seconds,
        )

    async def hash(self, password: str) -> str:
        return await self._in_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """`(valid, new_hash)`; `new_hash` is set when `hashed` used outdated parameters.

        With no hash (unknown email) the password is checked against a dummy hash, so the
        answer takes as long as for a wrong password.
        """
        target = hashed if hashed is not None else await self._dummy()
        valid, updated = await self._in_thread(self._verify_and_update, password, target)
        if hashed is None:
            return False, None
        return valid, updated

    async def _in_thread(self, function: Callable[..., T], *args: str) -> T:
        if self._expected_wait() > self._queue_timeout:
            raise self._overloaded()
        with anyio.move_on_after(self._queue_timeout) as waiting:
            await self._limiter.acquire()
        if waiting.cancelled_caught:
            raise self._overloaded()
        started = time.perf_counter()
        try:
            return await anyio.to_thread.run_sync(function, *args)
        finally:
            self._limiter.release()
            self._record(time.perf_counter() - started)

    def _expected_wait(self) -> float:
        """Seconds until a newcomer would get a slot, were the queue to go at recent speed."""
        if self._limiter.available_tokens:
            return 0.0
        queued = self._limiter.statistics().tasks_waiting
        slots = int(self._limiter.total_tokens)
        return (queued // slots + 1) * self._seconds_per_hash

    def _record(self, seconds: float) -> None:
        if not self._seconds_per_hash:
            self._seconds_per_hash = seconds
        self._seconds_per_hash += self.SMOOTHING * (seconds - self._seconds_per_hash)

    def _overloaded(self) -> ServiceUnavailableError:
        return ServiceUnavailableError(
            "Too many password checks at once", retry_after=self._retry_after
        )

    def _verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
        try:
            return self._hash.verify_and_update(password, hashed)
        except UnknownHashError:
            return False, None

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(new_token())
        return self._dummy_hash


def login_limit_key(email: str) -> str:
    """The rate-limit key of failed logins to the account with this (normalised) address."""
    return f"login:email:{email}"


class CurrentPasswordCheck:
    """The signed-in user's current password, asked before a change of credentials (password,
    email, a new API key). Wrong ones count against the address's login limit (`rule`), so a
    stolen session guesses no faster than a login could."""

    def __init__(self, hasher: PasswordHasher, limiter: RateLimiter, *, rule: str):
        self.hasher = hasher
        self.limiter = limiter
        self.rule = rule

    async def confirm(self, password: str, *, email: str, hashed_password: str | None) -> None:
        """A 422 on `current_password` when it is wrong, 429 once guessed too often."""
        if hashed_password is None:
            raise InvalidInputError(
                "The account has no password yet: set one with a password reset",
                loc=("body", "current_password"),
            )
        key = login_limit_key(email)
        await self.limiter.ensure_allowed(self.rule, key)
        # The connection stays checked out while hashing: authentication may have written the
        # session's `last_used_at`, which releasing it would roll back. These changes are rare
        # and rate limited; logins, which write nothing first, release theirs.
        valid, _ = await self.hasher.verify(password, hashed_password)
        if not valid:
            await self.limiter.hit(self.rule, key)
            raise InvalidInputError(
                "Current password is incorrect", loc=("body", "current_password")
            )
