"""No lost writes, no phantom writes: concurrent creates and If-Match updates with failures
injected at random into COMMITs and statements. Every acknowledged write is in the database
exactly as acknowledged; every failed one left nothing (a Jepsen-style set and register test).
"""

import asyncio
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import delete, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.identity.models import User
from app.items.models import Item
from tests.conftest import http_client
from tests.users.factories import bearer, create_user, login

CLIENTS = 8
OPERATIONS_PER_CLIENT = 30
FAILURE_RATE = 0.2
ITEMS = "/api/v1/items"


@dataclass
class History:
    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_titles: set[str] = field(default_factory=set)
    # Item id → the bodies of its acknowledged updates.
    updated: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    statuses: list[int] = field(default_factory=list)


@dataclass(eq=False)  # hashable: SQLAlchemy keeps listeners in dicts
class FaultInjector:
    """While `active`, a COMMIT or a statement fails like a lost connection at FAILURE_RATE."""

    chance: random.Random = field(default_factory=lambda: random.Random(20261122))  # noqa: S311
    active: bool = False
    injected: int = 0

    def __call__(self, *_args: object, **_kwargs: object) -> None:
        if self.active and self.chance.random() < FAILURE_RATE:
            self.injected += 1
            raise OperationalError("injected", {}, ConnectionResetError("injected fault"))


@pytest.fixture
def faults(committing_app: FastAPI) -> Iterator[FaultInjector]:
    injector = FaultInjector()
    engine = committing_app.state.engine.sync_engine
    event.listen(engine, "commit", injector)
    event.listen(engine, "before_cursor_execute", injector)
    yield injector
    event.remove(engine, "commit", injector)
    event.remove(engine, "before_cursor_execute", injector)


async def client_run(
    client: AsyncClient, headers: dict[str, str], name: str, history: History
) -> None:
    """Creates an item, then alternates: update one of its items with If-Match, or create."""
    mine: dict[str, str] = {}  # id → ETag
    chance = random.Random(name)  # noqa: S311 - workload shape only
    for n in range(OPERATIONS_PER_CLIENT):
        if mine and chance.random() < 0.6:
            item_id, etag = chance.choice(sorted(mine.items()))
            body = {"title": f"{name}-update-{n}"}
            headers_if = {**headers, "If-Match": etag}
            response = await client.patch(f"{ITEMS}/{item_id}", json=body, headers=headers_if)
            history.statuses.append(response.status_code)
            if response.status_code == 200:
                history.updated[item_id].append(response.json())
                mine[item_id] = response.headers["ETag"]
            continue
        title = f"{name}-create-{n}"
        response = await client.post(ITEMS, json={"title": title}, headers=headers)
        history.statuses.append(response.status_code)
        if response.status_code == 201:
            history.created[response.json()["id"]] = response.json()
            mine[response.json()["id"]] = response.headers["ETag"]
        else:
            history.failed_titles.add(title)


async def test_every_acknowledged_write_is_stored_and_no_failed_one_is(
    committing_app: FastAPI,
    engine: AsyncEngine,
    faults: FaultInjector,
    record_property: Any,
) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        users = [await create_user(session) for _ in range(CLIENTS)]
    history = History()
    try:
        async with http_client(committing_app) as client:
            headers = [bearer(await login(client, user.email)) for user in users]
            faults.active = True
            await asyncio.gather(
                *(client_run(client, headers[i], f"c{i}", history) for i in range(CLIENTS))
            )
            faults.active = False
        stored = await stored_items(engine, users)
    finally:
        await delete_users(engine, users)

    assert set(history.statuses) <= {200, 201, 503}, sorted(set(history.statuses))
    assert faults.injected > 0
    assert 503 in history.statuses
    assert_history_matches(history, stored)
    record_property("requests", len(history.statuses))
    record_property("acknowledged", sum(status < 300 for status in history.statuses))
    record_property("faults_injected", faults.injected)


async def stored_items(engine: AsyncEngine, users: list[User]) -> dict[str, Item]:
    async with AsyncSession(engine) as session:
        rows = await session.scalars(
            select(Item).where(Item.owner_id.in_([user.id for user in users]))
        )
        return {str(item.id): item for item in rows}


async def delete_users(engine: AsyncEngine, users: list[User]) -> None:
    ids = [user.id for user in users]
    async with AsyncSession(engine) as session:
        await session.execute(delete(Item).where(Item.owner_id.in_(ids)))
        await session.execute(delete(User).where(User.id.in_(ids)))
        await session.commit()


def assert_history_matches(history: History, stored: dict[str, Item]) -> None:
    # The set: exactly the acknowledged creates exist, no failed one.
    assert set(stored) == set(history.created)
    stored_titles = {item.title for item in stored.values()}
    assert not stored_titles & history.failed_titles
    # The registers: one version per acknowledged update, the last acknowledged value stored.
    for item_id, item in stored.items():
        updates = history.updated.get(item_id, [])
        assert item.version == 1 + len(updates), item_id
        expected = (
            max(updates, key=lambda body: body["version"]) if updates else history.created[item_id]
        )
        assert item.title == expected["title"]
        assert item.version == expected["version"]
