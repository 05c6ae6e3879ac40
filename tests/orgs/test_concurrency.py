"""Two owners removing each other at once, with real commits: one owner always remains."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.identity.models import OWNER, MemberRole, Membership, Organisation, OrgRole, User
from tests.orgs.factories import ORGS
from tests.users.factories import DEFAULT_PASSWORD, bearer, login, unique_email

TRIALS = 5
Person = tuple[str, dict[str, str]]

# How one owner takes ownership away from another.
Demotion = Callable[[AsyncClient, str, str, dict[str, str]], Awaitable[Response]]
DEMOTIONS: dict[str, Demotion] = {
    "demote": lambda client, org, user_id, headers: client.patch(
        f"{ORGS}/{org}/members/{user_id}", json={"roles": ["member"]}, headers=headers
    ),
    "remove": lambda client, org, user_id, headers: client.delete(
        f"{ORGS}/{org}/members/{user_id}", headers=headers
    ),
}


@pytest.fixture
async def people(
    committing_client: AsyncClient, engine: AsyncEngine
) -> AsyncIterator[Callable[[], Awaitable[Person]]]:
    """Makes committed users (id and bearer headers); they and their organisations are
    removed afterwards."""
    emails: list[str] = []

    async def make() -> Person:
        email = unique_email()
        emails.append(email)
        registered = await committing_client.post(
            "/api/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD}
        )
        return registered.json()["id"], bearer(await login(committing_client, email))

    yield make
    async with engine.begin() as connection:
        users = select(User.id).where(User.email.in_(emails))
        orgs = select(Membership.org_id).where(Membership.user_id.in_(users))
        await connection.execute(delete(Organisation).where(Organisation.id.in_(orgs)))
        await connection.execute(delete(User).where(User.email.in_(emails)))


async def make_owner(engine: AsyncEngine, org_id: str, user_id: str) -> None:
    async with engine.begin() as connection:
        membership = uuid.uuid4()
        await connection.execute(
            insert(Membership).values(
                id=membership, org_id=uuid.UUID(org_id), user_id=uuid.UUID(user_id)
            )
        )
        owner = select(OrgRole.id).where(OrgRole.name == OWNER, OrgRole.org_id.is_(None))
        await connection.execute(
            insert(MemberRole).values(membership_id=membership, role_id=owner.scalar_subquery())
        )


async def owners(engine: AsyncEngine, org_id: str) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count())
            .select_from(Membership)
            .join(MemberRole, MemberRole.membership_id == Membership.id)
            .join(OrgRole, OrgRole.id == MemberRole.role_id)
            .where(Membership.org_id == uuid.UUID(org_id), OrgRole.name == OWNER)
        )
    return int(count or 0)


@pytest.mark.parametrize("how", DEMOTIONS)
async def test_two_owners_removing_each_other_at_once_leave_one(
    committing_client: AsyncClient,
    engine: AsyncEngine,
    people: Callable[[], Awaitable[Person]],
    how: str,
) -> None:
    demote = DEMOTIONS[how]
    for _ in range(TRIALS):
        (first_id, first), (second_id, second) = await people(), await people()
        created = await committing_client.post(ORGS, json={"name": "Race"}, headers=first)
        org = created.json()["id"]
        await make_owner(engine, org, second_id)

        answers = await asyncio.gather(
            demote(committing_client, org, second_id, first),
            demote(committing_client, org, first_id, second),
        )

        codes = sorted(answer.status_code for answer in answers)
        assert codes[0] in {200, 204}, [answer.text for answer in answers]
        assert codes[1] in {403, 404, 409}, [answer.text for answer in answers]
        assert await owners(engine, org) == 1
