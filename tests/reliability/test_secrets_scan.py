"""The scanner behind the suite-wide log check finds each kind of secret, and only secrets."""

import hashlib
import uuid

import pytest

from app.core.security import new_token
from app.identity.models import KEY_PREFIX
from tests.secrets_scan import find_secrets


@pytest.mark.parametrize(
    "line",
    [
        f"Authorization: Bearer {new_token()}",
        f'{{"url": "https://x.example/?key={KEY_PREFIX}{new_token()}"}}',
        f'{{"token_hash": "{hashlib.sha256(b"x").hexdigest()}"}}',
        "hashed_password=$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        '{"email": "a@example.com", "password": "correct horse battery"}',
        "{'new_password': 'hunter2hunter2'}",
    ],
)
def test_secrets_are_found(line: str) -> None:
    assert find_secrets(f"before\n{line}\nafter")


@pytest.mark.parametrize(
    "line",
    [
        f'{{"request_id": "{uuid.uuid4()}", "path": "/api/v1/items/{uuid.uuid4()}"}}',
        '{"event": "request", "password": "[redacted]", "status": 401}',
        "test_the_grace_period_bounds_the_exit_and_leaves_no_partial_write",
        'ETag: "7"  Location: http://test/api/v1/items',
        f'{{"prefix": "{KEY_PREFIX}Ab3dE_"}}',
    ],
)
def test_ordinary_lines_are_not(line: str) -> None:
    assert find_secrets(line) == []
