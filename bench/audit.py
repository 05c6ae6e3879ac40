"""What the audit log costs the requests it records: CPU per request, in-process.

    uv run python -m bench.audit [--requests 1000] [--rounds 3]

Creates a migrated PostgreSQL database, then, as `bench.layers` does (production settings,
every middleware, no HTTP, no load generator), times one request after another:
`POST /auth/login` (a session and its `auth.login` event) with Argon2id at its cheapest, so
that the hash does not hide the rest, and again at the default cost; and `PATCH /users/{id}` by
an administrator (the change and its `user.updated` event), the name alternating so that each
is a change. Prints the median of the rounds in process CPU µs per request (the hashing threads
included). Run it from an older checkout (`PYTHONPATH=<checkout>/src:<checkout>`) to compare.
"""

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import uvloop
from alembic import command
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import Settings
from app.core.migrations import alembic_config
from app.main import create_app
from bench.layers import call
from bench.runner import admin, with_database
from bench.server import APP_ENVIRONMENT

ADMIN, PERSON = "audit-admin@example.com", "audit-person@example.com"
PASSWORD = "a benchmark's long password"  # noqa: S105
CHEAPEST_HASH = {
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "8",
    "PASSWORD_HASH_PARALLELISM": "1",
}

Request = Callable[[int], Awaitable[bytes]]


async def migrate(database_url: str) -> None:
    settings = Settings(_env_file=None, database_url=database_url)
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.upgrade(alembic_config(settings, connection=sync), "head")
        )
    await engine.dispose()


def create_administrator(database_url: str, environment: dict[str, str]) -> None:
    """Through the CLI of the code under test, as an operator would."""
    command = [sys.executable, "-m", "app", "users", "create-superuser"]
    subprocess.run(
        [*command, "--email", ADMIN, "--password", PASSWORD],
        env={**os.environ, **environment, "DATABASE_URL": database_url},
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def requests_of(app: FastAPI) -> dict[str, Request]:
    account = orjson.dumps({"email": PERSON, "password": PASSWORD})
    created = await call(app, "/api/v1/auth/register", "", method="POST", body=account, status=201)
    person = f"/api/v1/users/{orjson.loads(created)['id']}"
    credentials = orjson.dumps({"email": ADMIN, "password": PASSWORD})
    signed_in = await call(app, "/api/v1/auth/login", "", method="POST", body=credentials)
    token = orjson.loads(signed_in)["access_token"]
    names = [orjson.dumps({"full_name": f"Person {n}"}) for n in range(2)]

    async def login(_: int) -> bytes:
        return await call(app, "/api/v1/auth/login", "", method="POST", body=credentials)

    async def rename(n: int) -> bytes:
        return await call(app, person, token, method="PATCH", body=names[n % 2])

    return {"POST /auth/login": login, "PATCH /users/{id}": rename}


async def cpu_per_request(request: Request, requests: int) -> float:
    for n in range(max(requests // 10, 1)):
        await request(n)
    started = time.process_time()
    for n in range(requests):
        await request(n)
    return (time.process_time() - started) / requests * 1e6


async def measure(
    database_url: str, environment: dict[str, str], requests: int, rounds: int, log: Path
) -> dict[str, float]:
    os.environ.update({**APP_ENVIRONMENT, **environment, "DATABASE_URL": database_url})
    app = create_app(Settings())
    logging.getLogger().handlers[0].setStream(log.open("a"))  # type: ignore[attr-defined]
    async with app.router.lifespan_context(app):
        timed = await requests_of(app)
        figures: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(rounds):
            for name, request in timed.items():
                figures[name].append(await cpu_per_request(request, requests))
    return {name: statistics.median(values) for name, values in figures.items()}


def run(server: str, environment: dict[str, str], requests: int, rounds: int) -> dict[str, float]:
    database = f"bench_audit_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(server, f'CREATE DATABASE "{database}"'))
    database_url = with_database(server, database, driver="+asyncpg")
    try:
        asyncio.run(migrate(database_url))
        create_administrator(database_url, environment)
        with tempfile.TemporaryDirectory(prefix="audit-") as workdir:
            log = Path(workdir) / "app.log"
            return uvloop.run(measure(database_url, environment, requests, rounds, log))
    finally:
        asyncio.run(admin(server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audit")
    parser.add_argument("--requests", type=int, default=1000, help="per route and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", default="postgresql://root@127.0.0.1:5432/test")
    parser.add_argument(
        "--default-hash", action="store_true", help="Argon2id at its default cost (slow)"
    )
    args = parser.parse_args()
    environment = {} if args.default_hash else CHEAPEST_HASH
    figures = run(args.server, environment, args.requests, args.rounds)
    hashing = "default" if args.default_hash else "cheapest"
    for name, cpu in figures.items():
        print(f"{name:<20} {cpu:8.0f} µs CPU per request (Argon2id {hashing})", flush=True)


if __name__ == "__main__":
    main()
