"""`app seed`: realistic demo users and items, written through the services' bulk paths.

The same `--seed` always yields the same rows (ids derived from it), so running it again
updates them instead of adding more.
"""

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.security import PasswordHasher
from app.identity.auth_cache import revoke_elsewhere
from app.identity.models import User
from app.items.dependencies import build_item_service
from app.items.entity import ITEMS
from app.users.dependencies import build_user_service

DEMO_PASSWORD = "demo password"  # noqa: S105 - printed for the demo accounts on purpose
NAMESPACE = uuid.UUID("6f1b2c1e-8a57-4c3e-9a51-2b7d1f0c9e44")
FIRST_NAMES = (
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Radia",
    "Edsger",
    "Frances",
    "Donald",
    "Hedy",
    "Guido",
    "Katherine",
    "Tim",
)
LAST_NAMES = (
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Perlman",
    "Dijkstra",
    "Allen",
    "Knuth",
    "Lamarr",
    "Rossum",
    "Johnson",
)
ADJECTIVES = (
    "quarterly",
    "urgent",
    "draft",
    "shared",
    "archived",
    "weekly",
    "new",
    "final",
    "internal",
    "public",
    "pending",
    "reviewed",
)
NOUNS = (
    "report",
    "invoice",
    "roadmap",
    "budget",
    "checklist",
    "proposal",
    "contract",
    "memo",
    "backlog",
    "release",
    "survey",
    "design",
    "migration",
    "forecast",
)


@dataclass(frozen=True)
class SeedReport:
    users: int
    items_created: int
    items_updated: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        rows = self.users + self.items_created + self.items_updated
        return rows / self.seconds if self.seconds else 0.0


def _demo_id(seed: int, kind: str, number: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{seed}:{kind}:{number}")


def _users(seed: int, count: int, hashed_password: str) -> list[dict[str, object]]:
    rng = random.Random(f"{seed}:users")  # noqa: S311 - demo data, not security
    return [
        {
            "id": _demo_id(seed, "user", number),
            "email": f"demo{number}.seed{seed}@example.com",
            "hashed_password": hashed_password,
            "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        }
        for number in range(count)
    ]


def _item(seed: int, number: int, rng: random.Random) -> BaseModel:
    title = f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(NOUNS)} #{number}"
    description = None if rng.random() < 0.3 else f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    return ITEMS.upsert(
        id=_demo_id(seed, "item", number),
        title=title,
        description=description,
        is_active=rng.random() < 0.9,
    )


async def seed(
    settings: Settings,
    *,
    users: int,
    items: int,
    batch: int = ITEMS.max_bulk,
    seed_value: int = 1,
    advance: Callable[[int], None] = lambda _rows: None,
) -> SeedReport:
    """Upserts `users` demo users and `items` items spread over them, `batch` rows at a time."""
    started = time.perf_counter()
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        hashed = await PasswordHasher.from_settings(settings).hash(DEMO_PASSWORD)
        owners: list[User] = []
        rows = _users(seed_value, users, hashed)
        for start in range(0, len(rows), batch):
            async with sessionmaker.begin() as session:
                chunk = rows[start : start + batch]
                owners += await build_user_service(session, settings).upsert_many(chunk)
            await revoke_elsewhere(settings, session)
            advance(len(chunk))
        created, updated = await _seed_items(
            sessionmaker,
            settings,
            owners,
            items=items,
            batch=batch,
            seed_value=seed_value,
            advance=advance,
        )
    finally:
        await engine.dispose()
    return SeedReport(users, created, updated, time.perf_counter() - started)


async def _seed_items(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    owners: list[User],
    *,
    items: int,
    batch: int,
    seed_value: int,
    advance: Callable[[int], None],
) -> tuple[int, int]:
    """Each owner gets an equal share, written in bulk upserts of `batch` rows."""
    created = updated = 0
    rng = random.Random(f"{seed_value}:items")  # noqa: S311 - demo data
    share = math.ceil(items / len(owners))
    for index, owner in enumerate(owners):
        mine = range(index * share, min((index + 1) * share, items))
        for start in range(mine.start, mine.stop, batch):
            numbers = range(start, min(start + batch, mine.stop))
            bulk = ITEMS.bulk(items=[_item(seed_value, number, rng) for number in numbers])
            async with sessionmaker.begin() as session:
                outcome = await build_item_service(session, settings).bulk_upsert(owner, bulk)
            created, updated = created + outcome.created, updated + outcome.updated
            advance(len(numbers))
    return created, updated
