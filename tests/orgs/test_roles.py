"""An organisation's own roles over HTTP: made, granted, changed and deleted within what the
caller holds, reaching their holders at once; built-in roles stay as they are."""

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.orgs.factories import ORGS, member, new_org
from tests.users.factories import SignedIn, signed_in


@pytest.fixture
async def owner(client: AsyncClient, session: AsyncSession) -> SignedIn:
    return await signed_in(client, session)


@pytest.fixture
async def org(client: AsyncClient, owner: SignedIn) -> str:
    return str((await new_org(client, owner))["id"])


async def test_a_role_of_their_own_reaches_its_holder_at_once(
    client: AsyncClient, session: AsyncSession, owner: SignedIn, org: str
) -> None:
    viewer = await member(client, session, org)
    created = await client.post(
        f"{ORGS}/{org}/roles",
        json={"name": "viewer", "permissions": ["projects:read", "orgs:read"]},
        headers=owner.headers,
    )
    role = created.json()
    granted = await client.patch(
        f"{ORGS}/{org}/members/{viewer.user.id}", json={"roles": ["viewer"]}, headers=owner.headers
    )
    projects = f"{ORGS}/{org}/projects"

    reads = await client.get(projects, headers=viewer.headers)
    writes = await client.post(projects, json={"name": "x"}, headers=viewer.headers)
    widened = await client.patch(
        f"{ORGS}/{org}/roles/{role['id']}",
        json={"permissions": ["projects:read", "projects:write"]},
        headers=owner.headers,
    )
    writes_now = await client.post(projects, json={"name": "x"}, headers=viewer.headers)
    deleted = await client.delete(f"{ORGS}/{org}/roles/{role['id']}", headers=owner.headers)
    reads_after = await client.get(projects, headers=viewer.headers)

    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{ORGS}/{org}/roles/{role['id']}"
    assert (role["built_in"], role["permissions"]) == (False, ["orgs:read", "projects:read"])
    assert granted.json()["roles"] == ["viewer"]
    assert (reads.status_code, writes.status_code) == (200, 403)
    assert widened.status_code == 200
    assert writes_now.status_code == 201
    assert deleted.status_code == 204
    assert reads_after.status_code == 403


async def test_nobody_makes_a_role_beyond_what_they_hold(
    client: AsyncClient, session: AsyncSession, org: str
) -> None:
    admin = await member(client, session, org, "admin")

    beyond = await client.post(
        f"{ORGS}/{org}/roles",
        json={"name": "deleter", "permissions": ["orgs:delete"]},
        headers=admin.headers,
    )
    everything = await client.post(
        f"{ORGS}/{org}/roles", json={"name": "god", "permissions": ["*"]}, headers=admin.headers
    )
    platform = await client.post(
        f"{ORGS}/{org}/roles",
        json={"name": "x", "permissions": ["users:admin"]},
        headers=admin.headers,
    )

    assert (beyond.status_code, beyond.json()["detail"]) == (403, "Missing permission: orgs:delete")
    assert everything.status_code == platform.status_code == 422


async def test_built_in_roles_stay_and_names_are_per_organisation(
    client: AsyncClient, owner: SignedIn, org: str
) -> None:
    roles = (await client.get(f"{ORGS}/{org}/roles", headers=owner.headers)).json()
    built_in = {role["name"]: role for role in roles}
    other = str((await new_org(client, owner))["id"])
    body = {"name": "editor", "permissions": ["projects:write"]}

    changed = await client.patch(
        f"{ORGS}/{org}/roles/{built_in['member']['id']}",
        json={"permissions": []},
        headers=owner.headers,
    )
    named_owner = await client.post(
        f"{ORGS}/{org}/roles", json={"name": "owner", "permissions": []}, headers=owner.headers
    )
    first = await client.post(f"{ORGS}/{org}/roles", json=body, headers=owner.headers)
    twice = await client.post(f"{ORGS}/{org}/roles", json=body, headers=owner.headers)
    elsewhere = await client.post(f"{ORGS}/{other}/roles", json=body, headers=owner.headers)
    foreign = await client.get(f"{ORGS}/{other}/roles/{first.json()['id']}", headers=owner.headers)

    assert list(built_in) == ["admin", "member", "owner"]
    assert built_in["owner"]["permissions"] == ["*"]
    assert changed.status_code == 409
    assert named_owner.status_code == twice.status_code == 409
    assert (first.status_code, elsewhere.status_code) == (201, 201)
    assert foreign.status_code == 404
