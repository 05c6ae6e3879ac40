"""API keys for tests, made through the API as a client would."""

from httpx import AsyncClient

from tests.users.factories import DEFAULT_PASSWORD, SignedIn, bearer

KEYS = "/api/v1/auth/api-keys"


async def api_key(
    client: AsyncClient, owner: SignedIn, *scopes: str, **fields: object
) -> dict[str, str]:
    """Bearer headers of a new key of `owner`'s with `scopes`."""
    body = {"name": "test", "scopes": list(scopes), "current_password": DEFAULT_PASSWORD, **fields}
    response = await client.post(KEYS, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return bearer(response.json()["key"])
