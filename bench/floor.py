"""The floor: the SQL our endpoints must run, behind raw ASGI + asyncpg + orjson and nothing else.

No validation, no error envelope, no logging, no metrics, no ORM: each route parses the least it
can and runs the same statements against the same schema as the app. What the app costs on top
of this is the price of its contracts. Run it on uvicorn's fastest (one worker, uvloop and
httptools): `FLOOR_DATABASE_URL=postgresql://… uvicorn bench.floor:app --port 8001 --loop uvloop`.
"""

import asyncio
import base64
import hashlib
import os
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias
from urllib.parse import parse_qs

import asyncpg
import orjson
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Row: TypeAlias = asyncpg.Record

# The app's defaults: pool 10 + 10 overflow, sessions touched once a minute, 14-day lifetime,
# idle after 24 h, Argon2id t=3 m=64 MiB p=4 with two hashes at a time.
POOL_MIN, POOL_MAX = 10, 20
TOUCH_INTERVAL = timedelta(minutes=1)
LIFETIME, IDLE_TIMEOUT = timedelta(days=14), timedelta(hours=24)
HASHER = PasswordHash((Argon2Hasher(time_cost=3, memory_cost=65536, parallelism=4),))
HASH_SLOTS = asyncio.Semaphore(2)

ITEM_COLUMNS = "id, title, description, is_active, owner_id, version, created_at, updated_at"
AUTHENTICATE = """
    SELECT s.id AS session_id, s.last_used_at, u.id, u.email, u.full_name, u.is_active,
           u.created_at, u.updated_at,
           (SELECT string_agg(r.name, ' ') FROM user_roles ur JOIN roles r ON r.id = ur.role_id
            WHERE ur.user_id = u.id) AS role_names,
           (SELECT string_agg(p.permission, ' ') FROM user_roles ur
            JOIN role_permissions p ON p.role_id = ur.role_id WHERE ur.user_id = u.id)
           AS permission_names
    FROM user_sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_used_at > $3
      AND u.is_active AND u.deleted_at IS NULL"""
TOUCH = "UPDATE user_sessions SET last_used_at = $2 WHERE id = $1"
GET_ITEM = f"""
    SELECT {ITEM_COLUMNS} FROM items WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL"""
PAGE = f"""
    SELECT {ITEM_COLUMNS} FROM items WHERE owner_id = $1 AND deleted_at IS NULL
    ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"""
PAGE_AFTER = f"""
    SELECT {ITEM_COLUMNS} FROM items WHERE owner_id = $1 AND deleted_at IS NULL
      AND (created_at, id) < ($3, $4)
    ORDER BY created_at DESC, id DESC LIMIT $2"""
COUNT = "SELECT count(*) FROM items WHERE owner_id = $1 AND deleted_at IS NULL"
INSERT = f"""
    INSERT INTO items (id, title, description, is_active, owner_id, version, created_at,
                       updated_at)
    VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING {ITEM_COLUMNS}"""
COMPARE_AND_SET = f"""
    UPDATE items SET title = coalesce($4, title), version = version + 1, updated_at = $5
    WHERE id = $1 AND owner_id = $2 AND version = $3 AND deleted_at IS NULL
    RETURNING {ITEM_COLUMNS}"""
UPSERT = f"""
    INSERT INTO items (id, title, description, is_active, owner_id, version, created_at,
                       updated_at, deleted_at)
    SELECT id, title, description, is_active, $5, 1, $6, $6, NULL
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bool[])
         AS rows(id, title, description, is_active)
    ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description,
        is_active = excluded.is_active, updated_at = excluded.updated_at,
        version = items.version + 1
    WHERE items.owner_id = excluded.owner_id AND items.deleted_at IS NULL
    RETURNING {ITEM_COLUMNS}, (xmax = 0) AS inserted"""
USER_BY_EMAIL = """
    SELECT id, hashed_password, is_active FROM users WHERE email = $1 AND deleted_at IS NULL"""
DELETE_DEAD = """
    DELETE FROM user_sessions WHERE user_id = $1 AND (expires_at <= $2 OR last_used_at <= $3)"""
START_SESSION = """
    INSERT INTO user_sessions (id, user_id, token_hash, created_at, last_used_at, expires_at,
                               user_agent, ip)
    VALUES ($1, $2, $3, $4, $4, $5, $6, $7)"""


class Floor:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        status, body, headers = await self.route(scope, receive)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = await asyncpg.create_pool(
                    os.environ["FLOOR_DATABASE_URL"], min_size=POOL_MIN, max_size=POOL_MAX
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def route(
        self, scope: dict[str, Any], receive: Receive
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        method, path = scope["method"], scope["path"]
        headers = dict(scope["headers"])
        if self.pool is None:
            raise RuntimeError("the lifespan did not run")
        async with self.pool.acquire() as connection:
            if path == "/health/ready":
                await connection.fetchval("SELECT 1")
                return 200, b'{"status":"ok"}', []
            if path == "/api/v1/auth/login" and method == "POST":
                return await login(connection, orjson.loads(await read_body(receive)), scope)
            user = await authenticate(connection, headers.get(b"authorization", b""))
            if user is None:
                return 401, b'{"error_code":"UNAUTHORIZED"}', []
            if not permitted(user.pop("permissions"), method, path):
                return 403, b'{"error_code":"PERMISSION_DENIED"}', []
            if path == "/api/v1/users/me":
                return 200, dump(user), []
            if path == "/api/v1/items" and method == "GET":
                return await list_items(connection, user["id"], scope["query_string"])
            if path == "/api/v1/items" and method == "POST":
                return await create_item(connection, user["id"], await read_body(receive))
            if path == "/api/v1/items/bulk":
                return await bulk_upsert(connection, user["id"], await read_body(receive))
            item_id = uuid.UUID(path.removeprefix("/api/v1/items/"))
            if method == "PATCH":
                body = orjson.loads(await read_body(receive))
                version = int(headers[b"if-match"].strip(b'"'))
                return await update_item(connection, user["id"], item_id, version, body)
            return item_response(await connection.fetchrow(GET_ITEM, item_id, user["id"]))


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def dump(value: Any) -> bytes:
    # asyncpg's UUID is a uuid.UUID subclass that orjson does not take natively.
    return orjson.dumps(value, default=str)


async def authenticate(connection: asyncpg.Connection, header: bytes) -> dict[str, Any] | None:
    token = header.removeprefix(b"Bearer ")
    now = datetime.now(UTC)
    row = await connection.fetchrow(
        AUTHENTICATE, hashlib.sha256(token).hexdigest(), now, now - IDLE_TIMEOUT
    )
    if row is None:
        return None
    if now - row["last_used_at"] >= TOUCH_INTERVAL:
        await connection.execute(TOUCH, row["session_id"], now)
    user = dict(row)
    del user["session_id"], user["last_used_at"]
    permissions = set((user.pop("permission_names") or "").split())
    user["roles"] = sorted(set((user.pop("role_names") or "").split()))
    user["is_superuser"] = "*" in permissions
    user["permissions"] = permissions
    return user


def permitted(permissions: set[str], method: str, path: str) -> bool:
    if path == "/api/v1/users/me":
        needed = "account:read"
    else:
        needed = "items:read" if method == "GET" else "items:write"
    return needed in permissions or "*" in permissions


def item_response(row: Row | None, status: int = 200) -> tuple[int, bytes, list[Any]]:
    if row is None:
        return 404, b'{"error_code":"NOT_FOUND"}', []
    return status, dump(dict(row)), [(b"etag", f'"{row["version"]}"'.encode())]


async def list_items(
    connection: asyncpg.Connection, owner_id: uuid.UUID, query_string: bytes
) -> tuple[int, bytes, list[Any]]:
    query = parse_qs(query_string.decode())
    limit = int(query.get("limit", ["20"])[0])
    if "cursor" in query:
        created_at, last_id = orjson.loads(base64.urlsafe_b64decode(query["cursor"][0]))
        after = datetime.fromisoformat(created_at), uuid.UUID(last_id)
        rows = await connection.fetch(PAGE_AFTER, owner_id, limit + 1, *after)
        offset = total = None
    else:
        offset = int(query.get("offset", ["0"])[0])
        rows = await connection.fetch(PAGE, owner_id, limit + 1, offset)
        more = len(rows) > limit
        total = (
            offset + len(rows) if rows and not more else await connection.fetchval(COUNT, owner_id)
        )
    items = [dict(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        position = orjson.dumps([last["created_at"], str(last["id"])])
        next_cursor = base64.urlsafe_b64encode(position).decode()
    page = {"items": items, "limit": limit, "offset": offset, "total": total}
    return 200, dump({**page, "next_cursor": next_cursor}), []


async def create_item(
    connection: asyncpg.Connection, owner_id: uuid.UUID, body: bytes
) -> tuple[int, bytes, list[Any]]:
    data = orjson.loads(body)
    row = await connection.fetchrow(
        INSERT,
        uuid.uuid4(),
        data["title"],
        data.get("description"),
        data.get("is_active", True),
        owner_id,
        datetime.now(UTC),
    )
    status, payload, headers = item_response(row, 201)
    return status, payload, [*headers, (b"location", f"/api/v1/items/{row['id']}".encode())]


async def update_item(
    connection: asyncpg.Connection,
    owner_id: uuid.UUID,
    item_id: uuid.UUID,
    version: int,
    data: dict[str, Any],
) -> tuple[int, bytes, list[Any]]:
    now = datetime.now(UTC)
    row = await connection.fetchrow(
        COMPARE_AND_SET, item_id, owner_id, version, data.get("title"), now
    )
    if row is None:
        return 412, b'{"error_code":"PRECONDITION_FAILED"}', []
    return item_response(row)


async def bulk_upsert(
    connection: asyncpg.Connection, owner_id: uuid.UUID, body: bytes
) -> tuple[int, bytes, list[Any]]:
    rows = orjson.loads(body)["items"]
    ids = [uuid.UUID(row["id"]) if row.get("id") else uuid.uuid4() for row in rows]
    written = await connection.fetch(
        UPSERT,
        ids,
        [row["title"] for row in rows],
        [row.get("description") for row in rows],
        [row.get("is_active", True) for row in rows],
        owner_id,
        datetime.now(UTC),
    )
    created = sum(row["inserted"] for row in written)
    items = [{k: v for k, v in row.items() if k != "inserted"} for row in written]
    skipped = sorted(set(ids) - {row["id"] for row in written})
    result = {"created": created, "updated": len(items) - created, "skipped": skipped}
    return 200, dump({**result, "items": items}), []


async def login(
    connection: asyncpg.Connection, data: dict[str, Any], scope: dict[str, Any]
) -> tuple[int, bytes, list[Any]]:
    user = await connection.fetchrow(USER_BY_EMAIL, data["email"].lower())
    if user is None:
        return 401, b'{"error_code":"INVALID_CREDENTIALS"}', []
    async with HASH_SLOTS:
        valid = await asyncio.to_thread(HASHER.verify, data["password"], user["hashed_password"])
    if not valid or not user["is_active"]:
        return 401, b'{"error_code":"INVALID_CREDENTIALS"}', []
    now, token = datetime.now(UTC), secrets.token_urlsafe(32)
    async with connection.transaction():
        await connection.execute(DELETE_DEAD, user["id"], now, now - IDLE_TIMEOUT)
        await connection.execute(
            START_SESSION,
            uuid.uuid4(),
            user["id"],
            hashlib.sha256(token.encode()).hexdigest(),
            now,
            now + LIFETIME,
            dict(scope["headers"]).get(b"user-agent", b"").decode()[:500] or None,
            scope["client"][0] if scope.get("client") else None,
        )
    payload = {"access_token": token, "token_type": "bearer", "expires_at": now + LIFETIME}
    return 200, dump(payload), []


app = Floor()
