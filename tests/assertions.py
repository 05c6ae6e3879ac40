"""Assertions many tests share."""

from typing import Any

from httpx import Response


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    """`response` is the error envelope with this status and code, carrying its request id;
    returns the body for further checks."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error_code"] == code
    assert body["correlation_id"] == response.headers["X-Request-ID"]
    return body
