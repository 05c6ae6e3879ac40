"""An organisation's API keys over HTTP: scoped within what their maker holds there, acting
in that organisation only, revoked at once, gone with it."""

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orgs.factories import ORGS, member, new_org, org_api_key
from tests.users.factories import SignedIn, signed_in


@pytest.fixture
async def owner(client: AsyncClient, session: AsyncSession) -> SignedIn:
    return await signed_in(client, session)


@pytest.fixture
async def org(client: AsyncClient, owner: SignedIn) -> str:
    return str((await new_org(client, owner))["id"])


async def test_a_key_acts_in_its_organisation_with_its_scopes_only(
    client: AsyncClient, owner: SignedIn, org: str
) -> None:
    key = await org_api_key(client, owner, org, "projects:read")
    other = str((await new_org(client, owner))["id"])

    reads = await client.get(f"{ORGS}/{org}/projects", headers=key)
    writes = await client.post(f"{ORGS}/{org}/projects", json={"name": "x"}, headers=key)
    elsewhere = await client.get(f"{ORGS}/{other}/projects", headers=key)
    platform = await client.get("/api/v1/users/me", headers=key)
    listed = await client.get(f"{ORGS}/{org}/api-keys", headers=owner.headers)

    assert reads.status_code == 200
    assert (writes.status_code, writes.json()["detail"]) == (
        403,
        "Missing permission: projects:write",
    )
    assert (elsewhere.status_code, elsewhere.json()["detail"]) == (404, "Organisation not found")
    assert (platform.status_code, platform.json()["error_code"]) == (403, "FORBIDDEN")
    assert [row["scopes"] for row in listed.json()] == [["projects:read"]]
    assert "key" not in listed.json()[0]


async def test_revoked_and_with_its_organisation_a_key_is_dead(
    client: AsyncClient, owner: SignedIn, org: str
) -> None:
    revoked = await org_api_key(client, owner, org, "projects:read")
    orphaned = await org_api_key(client, owner, org, "projects:read")
    key_id = (await client.get(f"{ORGS}/{org}/api-keys", headers=owner.headers)).json()[0]["id"]

    gone = await client.delete(f"{ORGS}/{org}/api-keys/{key_id}", headers=owner.headers)
    after_revoke = await client.get(f"{ORGS}/{org}/projects", headers=revoked)
    await client.delete(f"{ORGS}/{org}", headers=owner.headers)
    after_delete = await client.get(f"{ORGS}/{org}/projects", headers=orphaned)

    assert gone.status_code == 204
    assert (after_revoke.status_code, after_delete.status_code) == (401, 401)


async def test_scopes_stay_within_what_the_maker_holds(
    client: AsyncClient, session: AsyncSession, owner: SignedIn, org: str
) -> None:
    admin = await member(client, session, org, "admin")
    plain = await member(client, session, org, "member")
    keys = f"{ORGS}/{org}/api-keys"

    beyond = await client.post(
        keys, json={"name": "x", "scopes": ["orgs:delete"]}, headers=admin.headers
    )
    everything = await client.post(keys, json={"name": "x", "scopes": ["*"]}, headers=owner.headers)
    platform = await client.post(
        keys, json={"name": "x", "scopes": ["users:admin"]}, headers=owner.headers
    )
    by_member = await client.post(
        keys, json={"name": "x", "scopes": ["projects:read"]}, headers=plain.headers
    )
    key = await org_api_key(client, owner, org, "keys:manage", "projects:read")
    by_key = await client.post(keys, json={"name": "x", "scopes": ["projects:read"]}, headers=key)

    assert (beyond.status_code, beyond.json()["detail"]) == (403, "Missing permission: orgs:delete")
    assert everything.status_code == platform.status_code == 422
    assert by_member.json()["detail"] == "Missing permission: keys:manage"
    assert (by_key.status_code, by_key.json()["error_code"]) == (403, "FORBIDDEN")
