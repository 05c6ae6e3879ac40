"""Secrets the app must read back (second-factor seeds), encrypted at rest with Fernet
(AES-128-CBC and HMAC-SHA256, from `cryptography`). `ENCRYPTION_KEYS` lists keys newest
first: the first encrypts, every one decrypts, so a key is rotated by putting a new one in
front, re-encrypting (`app users reencrypt-factors`), then dropping the old one."""

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class UndecryptableError(Exception):
    """None of the configured keys opens this value: a key was dropped too early."""


class SecretBox:
    def __init__(self, keys: Sequence[bytes]):
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._newest = Fernet(keys[0])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise UndecryptableError("No configured key decrypts this value") from error

    def is_current(self, ciphertext: str) -> bool:
        """Whether the newest key encrypted it (nothing to re-encrypt)."""
        try:
            self._newest.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def reencrypt(self, ciphertext: str) -> str:
        """The same plaintext under the newest key."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken as error:
            raise UndecryptableError("No configured key decrypts this value") from error


def derived_key(secret: str, purpose: str) -> bytes:
    """A Fernet key of its own for `purpose`, from `SECRET_KEY` (when no key is configured)."""
    digest = hmac.new(secret.encode(), f"encryption:{purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)
