"""Organisations and their members for tests: made through the API where a client would, and
stored directly where a test needs a member of some role at once."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import MemberRole, Membership, OrgRole, User
from tests.users.factories import SignedIn, bearer, signed_in

ORGS = "/api/v1/orgs"


async def new_org(client: AsyncClient, owner: SignedIn, **fields: object) -> dict[str, Any]:
    """An organisation `owner` creates (and owns)."""
    body = {"name": f"Team {uuid.uuid4().hex[:6]}", **fields}
    response = await client.post(ORGS, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def join(session: AsyncSession, org_id: str | uuid.UUID, user: User, *roles: str) -> None:
    """`user` is a member of the organisation holding the built-in `roles`."""
    membership = Membership(org_id=uuid.UUID(str(org_id)), user_id=user.id)
    session.add(membership)
    await session.flush()
    built_in = select(OrgRole.id).where(OrgRole.name.in_(roles), OrgRole.org_id.is_(None))
    for role_id in await session.scalars(built_in):
        session.add(MemberRole(membership_id=membership.id, role_id=role_id))
    await session.commit()


async def member(
    client: AsyncClient, session: AsyncSession, org_id: str | uuid.UUID, *roles: str
) -> SignedIn:
    """A new user, signed in, a member of the organisation with `roles`."""
    user = await signed_in(client, session)
    await join(session, org_id, user.user, *roles)
    return user


async def org_api_key(
    client: AsyncClient, maker: SignedIn, org_id: str, *scopes: str
) -> dict[str, str]:
    """Bearer headers of a new key of the organisation, made by `maker` with `scopes`."""
    body = {"name": "test", "scopes": list(scopes)}
    response = await client.post(f"{ORGS}/{org_id}/api-keys", json=body, headers=maker.headers)
    assert response.status_code == 201, response.text
    assert response.json()["key"].startswith("app_org_")
    return bearer(response.json()["key"])
