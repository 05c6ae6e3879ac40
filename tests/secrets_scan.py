"""What must never appear in a log line: bearer tokens, token hashes, password hashes, and
password fields with their values. conftest.py scans every test's captured output with it, and
the live servers' logs, so a leak anywhere in the suite fails the test that caused it."""

import re

from app.identity.models import KEY_PREFIX

_URLSAFE = "A-Za-z0-9_-"
SECRET_PATTERNS = {
    # `secrets.token_urlsafe(32)`: 43 characters, mixed case and digits.
    "bearer token": re.compile(
        rf"(?<![{_URLSAFE}])(?=[{_URLSAFE}]*[A-Z])(?=[{_URLSAFE}]*[a-z])(?=[{_URLSAFE}]*\d)"
        rf"[{_URLSAFE}]{{43}}(?![{_URLSAFE}])"
    ),
    # An API key: the prefix secret scanners know, then a bearer token.
    "API key": re.compile(rf"{KEY_PREFIX}[{_URLSAFE}]{{43}}"),
    # The stored SHA-256 of a token.
    "token hash": re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{64}(?![0-9a-fA-F])"),
    "password hash": re.compile(r"\$argon2(?:id|i|d)\$"),
    # A password-like field with a value other than the redaction marker.
    "password field": re.compile(
        r"""["']?\b(?:password|current_password|new_password|hashed_password)["']?\s*[:=]\s*"""
        r"""["'](?!\[redacted\])[^"']+["']""",
        re.IGNORECASE,
    ),
}


def find_secrets(text: str) -> list[str]:
    """`kind: line` for every line of `text` that holds something secret."""
    return [
        f"{kind}: {line.strip()[:300]}"
        for line in text.splitlines()
        for kind, pattern in SECRET_PATTERNS.items()
        if pattern.search(line)
    ]
