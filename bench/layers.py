"""Where an authenticated read spends its CPU: one layer at a time, in-process.

    uv run python -m bench.layers [--requests 2000]

Seeds a database as `python -m bench` does, builds the app with production settings, adds probe
routes that stop at each layer (no dependency; the unit-of-work session; one statement; the
auth query as raw asyncpg, Core and ORM; the whole `require(...)` chain), then calls each route
through the full middleware stack as ASGI, one request after another, and prints the process
CPU time per request. No HTTP and no load generator: the figures are the app's own work.
"""

import argparse
import asyncio
import logging
import os
import tempfile
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import uvloop
from fastapi import APIRouter, FastAPI
from sqlalchemy import select, text, update

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.security import hash_token
from app.identity.models import User, UserSession
from app.main import create_app
from app.sessions.dependencies import require
from app.sessions.repository import VALID_BY_TOKEN_HASH
from app.users.permissions import ACCOUNT_READ
from bench.runner import EMAIL, PASSWORD, Bench, with_database
from bench.server import APP_ENVIRONMENT

RAW_AUTH = (
    "SELECT s.*, u.* FROM user_sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.is_active AND u.deleted_at IS NULL"
)
CORE_AUTH = (
    select(UserSession.__table__, User.__table__)
    .join_from(UserSession.__table__, User.__table__)
    .where(UserSession.token_hash == text(":token_hash"))
)
KEYS = "/api/v1/auth/api-keys"
LAYERS = (
    ("/probe/nothing", "an endpoint with no dependency, through every middleware"),
    ("/probe/session", "+ the unit-of-work session, unused (nothing begins or ends)"),
    ("/probe/select", "+ one SELECT 1 on it (connection, commit, close)"),
    ("/probe/raw", "the auth query instead, as raw asyncpg on its connection"),
    ("/probe/core", "... as SQLAlchemy Core"),
    ("/probe/orm", "... as the ORM query of the repository"),
    ("/probe/user", "+ the session service and require(...), from the auth cache"),
    ("/api/v1/users/me", "GET /users/me as served"),
    ("/api/v1/users/me", "GET /users/me with an API key instead of the session's token"),
)


def probes(token: str) -> APIRouter:
    router = APIRouter(prefix="/probe")
    token_hash = hash_token(token)

    def auth_values() -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "token_hash": token_hash,
            "now": now,
            "idle_since": datetime(2000, 1, 1, tzinfo=UTC),
        }

    @router.get("/nothing")
    async def nothing() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/session")
    async def session_only(session: SessionDep) -> dict[str, bool]:
        return {"ok": True}

    @router.get("/select")
    async def select_one(session: SessionDep) -> dict[str, bool]:
        await session.execute(text("SELECT 1"))
        return {"ok": True}

    @router.get("/raw")
    async def raw(session: SessionDep) -> dict[str, bool]:
        connection = await (await session.connection()).get_raw_connection()
        row = await connection.driver_connection.fetchrow(  # type: ignore[union-attr]
            RAW_AUTH, token_hash, datetime.now(UTC)
        )
        return {"ok": row is not None}

    @router.get("/core")
    async def core(session: SessionDep) -> dict[str, bool]:
        connection = await session.connection()
        row = (await connection.execute(CORE_AUTH, {"token_hash": token_hash})).first()
        return {"ok": row is not None}

    @router.get("/orm")
    async def orm(session: SessionDep) -> dict[str, bool]:
        found = await session.execute(VALID_BY_TOKEN_HASH, auth_values())
        return {"ok": found.scalar_one_or_none() is not None}

    @router.get("/user")
    async def user(current: Annotated[User, require(ACCOUNT_READ)]) -> dict[str, bool]:
        return {"ok": current.is_active}

    return router


async def call(
    app: FastAPI,
    path: str,
    token: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    status: int = 200,
) -> bytes:
    """One request through the whole app; its body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses, answer = [], bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif message["type"] == "http.response.body":
            answer.extend(message.get("body", b""))

    await app(scope, receive, send)
    if statuses != [status]:
        raise RuntimeError(f"{path} answered {statuses}")
    return bytes(answer)


async def measure(database_url: str, token: str, requests: int, log: Path, redis: str) -> None:
    os.environ.update({**APP_ENVIRONMENT, "DATABASE_URL": database_url, "REDIS_URL": redis})
    app = create_app(Settings())
    # The access log is written as when serving (`python -m bench` sends it to a file too).
    logging.getLogger().handlers[0].setStream(log.open("w"))  # type: ignore[attr-defined]
    app.router.routes[:0] = probes(token).routes  # first: probe routing stays cheap
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.5)  # the auth cache's subscription
        # Keys need a verified address; the seeded user's verification mail is never read.
        async with app.state.engine.begin() as connection:
            verified = update(User).where(User.email == EMAIL).values(email_verified_at=utcnow())
            await connection.execute(verified)
        scopes = orjson.dumps(
            {"name": "layers", "scopes": ["account:read"], "current_password": PASSWORD}
        )
        created = await call(app, KEYS, token, method="POST", body=scopes, status=201)
        key = orjson.loads(created)["key"]
        for (path, title), credential in zip(
            LAYERS, [*[token] * (len(LAYERS) - 1), key], strict=True
        ):
            for _ in range(requests // 10):
                await call(app, path, credential)
            started = time.process_time()
            for _ in range(requests):
                await call(app, path, credential)
            micros = (time.process_time() - started) / requests * 1e6
            print(f"{micros:7.0f} µs  {title}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.layers")
    parser.add_argument("--requests", type=int, default=2000, help="per layer")
    parser.add_argument("--server", default="postgresql://root@127.0.0.1:5432/test")
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/12", help="REDIS_URL; '' turns the cache off"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="layers-") as workdir:
        bench = Bench.seeding_only(args.server, Path(workdir), items=100)
        with bench.seeded():
            database_url = with_database(args.server, bench.template, driver="+asyncpg")
            log = Path(workdir) / "app.log"
            uvloop.run(measure(database_url, bench.token, args.requests, log, args.redis))


if __name__ == "__main__":
    main()
