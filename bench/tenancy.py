"""What a read inside an organisation costs next to a user's own: CPU per request, in-process.

    uv run python -m bench.tenancy [--requests 2000] [--rounds 3]

Creates a database owned by an ordinary role (the tables' owner, bound by their row-level
security policies), migrates it as that role, and seeds one user with an item and an
organisation with a project through the API. Then, as `bench.layers` does (production
settings, every middleware, no HTTP, no load generator), it times `GET /items/{id}` and
`GET /orgs/{org_id}/projects/{id}` one request after another, the app connected first as a
superuser (row-level security does not bind it: the repository filter is the only wall) and
then as the ordinary role (each read inside the organisation runs in a transaction that arms
the policies). Prints the median of the rounds, in process CPU µs per request.
"""

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
import uuid
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

EMAIL, PASSWORD = "tenancy@example.com", "a benchmark's long password"


async def migrate(database_url: str) -> None:
    settings = Settings(_env_file=None, database_url=database_url)
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.upgrade(alembic_config(settings, connection=sync), "head")
        )
    await engine.dispose()


async def seed(app: FastAPI) -> tuple[str, str, str]:
    """A token, the path of an item and the path of a project."""
    account = orjson.dumps({"email": EMAIL, "password": PASSWORD})
    await call(app, "/api/v1/auth/register", "", method="POST", body=account, status=201)
    token = orjson.loads(await call(app, "/api/v1/auth/login", "", method="POST", body=account))
    bearer = token["access_token"]
    item = await call(
        app, "/api/v1/items", bearer, method="POST", body=b'{"title": "one"}', status=201
    )
    org = await call(
        app, "/api/v1/orgs", bearer, method="POST", body=b'{"name": "Bench"}', status=201
    )
    projects = f"/api/v1/orgs/{orjson.loads(org)['id']}/projects"
    project = await call(app, projects, bearer, method="POST", body=b'{"name": "one"}', status=201)
    return (
        bearer,
        f"/api/v1/items/{orjson.loads(item)['id']}",
        f"{projects}/{orjson.loads(project)['id']}",
    )


async def cpu_per_request(app: FastAPI, path: str, token: str, requests: int) -> float:
    for _ in range(requests // 10):
        await call(app, path, token)
    started = time.process_time()
    for _ in range(requests):
        await call(app, path, token)
    return (time.process_time() - started) / requests * 1e6


async def measure(urls: dict[str, str], requests: int, rounds: int, log: Path) -> None:
    paths: tuple[str, str, str] | None = None
    for label, database_url in urls.items():
        os.environ.update({**APP_ENVIRONMENT, "DATABASE_URL": database_url})
        app = create_app(Settings())
        logging.getLogger().handlers[0].setStream(log.open("a"))  # type: ignore[attr-defined]
        async with app.router.lifespan_context(app):
            paths = paths or await seed(app)
            token, item, project = paths
            figures: dict[str, list[float]] = {item: [], project: []}
            for _ in range(rounds):
                for path in (item, project):
                    figures[path].append(await cpu_per_request(app, path, token, requests))
            own, org = (statistics.median(figures[path]) for path in (item, project))
            security = "on" if app.state.row_security else "off"
            print(
                f"{label:<28} row-level security {security:<3}  GET /items/{{id}} {own:6.0f} µs"
                f"  GET /orgs/{{org_id}}/projects/{{id}} {org:6.0f} µs  ratio {org / own:.2f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tenancy")
    parser.add_argument("--requests", type=int, default=2000, help="per route and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", default="postgresql://root@127.0.0.1:5432/test")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    role, database = f"bench_tenant_{suffix}", f"bench_tenancy_{suffix}"
    asyncio.run(
        admin(
            args.server,
            f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS',
            f'CREATE DATABASE "{database}" OWNER "{role}"',
        )
    )
    superuser_url = with_database(args.server, database, driver="+asyncpg")
    scheme, rest = superuser_url.split("://", 1)
    tenant_url = f"{scheme}://{role}@{rest.split('@', 1)[1]}"
    try:
        asyncio.run(migrate(tenant_url))
        urls = {"as a superuser": superuser_url, "as the tables' owner": tenant_url}
        with tempfile.TemporaryDirectory(prefix="tenancy-") as workdir:
            uvloop.run(measure(urls, args.requests, args.rounds, Path(workdir) / "app.log"))
    finally:
        asyncio.run(
            admin(
                args.server,
                f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
                f'DROP ROLE IF EXISTS "{role}"',
            )
        )


if __name__ == "__main__":
    main()
