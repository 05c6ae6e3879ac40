"""Races between administrators, with real commits: at least one active superuser remains."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.identity.models import Role, User, UserRole
from tests.users.factories import DEFAULT_PASSWORD, bearer, login, unique_email

USERS = "/api/v1/users"
TRIALS = 5

# How one superuser takes another's superuser power away (given the `admin` role's id).
Demotion = Callable[[AsyncClient, str, dict[str, str], uuid.UUID], Awaitable[Response]]
DEMOTIONS: dict[str, Demotion] = {
    "demote": lambda client, user_id, headers, _admin: client.patch(
        f"{USERS}/{user_id}", json={"is_superuser": False}, headers=headers
    ),
    "deactivate": lambda client, user_id, headers, _admin: client.patch(
        f"{USERS}/{user_id}", json={"is_active": False}, headers=headers
    ),
    "delete": lambda client, user_id, headers, _admin: client.delete(
        f"{USERS}/{user_id}", headers=headers
    ),
    "take back": lambda client, user_id, headers, admin: client.delete(
        f"{USERS}/{user_id}/roles/{admin}", headers=headers
    ),
}


@pytest.fixture
async def superusers(
    committing_client: AsyncClient, engine: AsyncEngine
) -> AsyncIterator[Callable[[], Awaitable[tuple[str, dict[str, str]]]]]:
    """Makes committed superusers (id and bearer headers); all removed afterwards."""
    emails: list[str] = []

    async def make() -> tuple[str, dict[str, str]]:
        email = unique_email()
        emails.append(email)
        registered = await committing_client.post(
            "/api/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD}
        )
        async with engine.begin() as connection:
            admin = select(Role.id).where(Role.name == "admin").scalar_subquery()
            await connection.execute(
                insert(UserRole).values(user_id=uuid.UUID(registered.json()["id"]), role_id=admin)
            )
        return registered.json()["id"], bearer(await login(committing_client, email))

    yield make
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.email.in_(emails)))


async def active_superusers(engine: AsyncEngine, ids: list[str]) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count())
            .select_from(User)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(
                User.id.in_([uuid.UUID(user_id) for user_id in ids]),
                Role.name == "admin",
                User.is_active,
                User.deleted_at.is_(None),
            )
        )
    return int(count or 0)


@pytest.mark.parametrize("how", DEMOTIONS)
async def test_two_superusers_removing_each_other_at_once_leave_one(
    committing_client: AsyncClient,
    engine: AsyncEngine,
    superusers: Callable[[], Awaitable[tuple[str, dict[str, str]]]],
    how: str,
) -> None:
    demote = DEMOTIONS[how]
    async with engine.connect() as connection:
        admin = await connection.scalar(select(Role.id).where(Role.name == "admin"))
    assert admin is not None
    for _ in range(TRIALS):
        (first_id, first), (second_id, second) = await superusers(), await superusers()

        answers = await asyncio.gather(
            demote(committing_client, second_id, first, admin),
            demote(committing_client, first_id, second, admin),
        )

        codes = sorted(answer.status_code for answer in answers)
        assert codes[0] in {200, 204}
        assert codes[1] in {401, 403}
        assert await active_superusers(engine, [first_id, second_id]) == 1


async def test_identical_grants_at_once_both_succeed(
    committing_client: AsyncClient,
    engine: AsyncEngine,
    superusers: Callable[[], Awaitable[tuple[str, dict[str, str]]]],
) -> None:
    """A repeated grant answers as the first did, also when both run at once."""
    _, admin = await superusers()
    role_ids = []
    answers: list[int] = []
    try:
        for trial in range(TRIALS * 2):
            created = await committing_client.post(
                "/api/v1/roles",
                json={"name": f"race-{uuid.uuid4().hex[:8]}-{trial}", "permissions": []},
                headers=admin,
            )
            role_ids.append(created.json()["id"])
            user_id, _ = await superusers()
            grant = f"{USERS}/{user_id}/roles/{role_ids[-1]}"
            both = await asyncio.gather(
                committing_client.put(grant, headers=admin),
                committing_client.put(grant, headers=admin),
            )
            answers += [answer.status_code for answer in both]
            body = {"permissions": ["items:read", "items:write"]}
            role = f"/api/v1/roles/{role_ids[-1]}"
            both = await asyncio.gather(
                committing_client.patch(role, json=body, headers=admin),
                committing_client.patch(role, json=body, headers=admin),
            )
            answers += [answer.status_code for answer in both]
    finally:
        async with engine.begin() as connection:
            ids = [uuid.UUID(role_id) for role_id in role_ids]
            await connection.execute(delete(Role).where(Role.id.in_(ids)))

    assert answers == [204, 204, 200, 200] * TRIALS * 2
