"""Items at scale on PostgreSQL: paging depth, and bulk upsert against one-by-one creates.

    uv run python -m bench.items_scale [--rows 1000000] [--server postgresql+asyncpg://root@127.0.0.1/test]

Creates a throwaway database on the server, starts `app serve` (1 worker) on it, seeds one
user's items with one INSERT … SELECT generate_series, then times with httpx over loopback:
the first page and a page 100,000 rows deep, in offset mode (with total) and in cursor mode;
then POST /items/bulk with 1000-row batches (one client, then several at once) against
POST /items one row at a time.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.server import start_app

PASSWORD = "bench password 1"  # noqa: S105 - a throwaway account in a throwaway database


async def admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


async def seed(database_url: str, email: str, rows: int) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                """
                INSERT INTO items (id, title, description, is_active, owner_id, version,
                                   created_at, updated_at, deleted_at)
                SELECT gen_random_uuid(), 'item ' || n, NULL, n % 10 <> 0, users.id, 1,
                       now() - make_interval(secs => n), now() - make_interval(secs => n), NULL
                FROM generate_series(1, :rows) AS n, users WHERE users.email = :email
                """
            ),
            {"rows": rows, "email": email},
        )
        await connection.execute(text("ANALYZE items"))
    await engine.dispose()


def timed(client: httpx.Client, method: str, url: str, repeats: int, **kwargs: object) -> float:
    """Median milliseconds of `repeats` requests (after one warm-up)."""
    client.request(method, url, **kwargs).raise_for_status()  # type: ignore[arg-type]
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.request(method, url, **kwargs).raise_for_status()  # type: ignore[arg-type]
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(base: str, headers: dict[str, str], depth: int) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        items = "/api/v1/items"
        near = client.get(items, params={"limit": 20}).json()["next_cursor"]
        far = client.get(items, params={"limit": 20, "offset": depth - 20}).json()["next_cursor"]
        cases = (
            ("offset 0 (with total)", 5, {"limit": 20}),
            (f"offset {depth} (with total)", 5, {"limit": 20, "offset": depth}),
            ("cursor after row 20", 20, {"limit": 20, "cursor": near}),
            (f"cursor after row {depth}", 20, {"limit": 20, "cursor": far}),
        )
        for label, repeats, params in cases:
            median = timed(client, "GET", items, repeats, params=params)
            print(f"page of 20, {label:<28} {median:8.1f} ms")


def post_batches(base: str, headers: dict[str, str], client_number: int, batches: int) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for batch in range(batches):
            rows = [{"title": f"bulk {client_number}-{batch}-{n}"} for n in range(1000)]
            client.post("/api/v1/items/bulk", json={"items": rows}).raise_for_status()


def bulk_throughput(
    base: str, headers: dict[str, str], batches: int, singles: int, clients: list[int]
) -> None:
    """Rows/s of 1000-row bulk upserts with each number of concurrent clients (each sends
    `batches` batches), then of one `POST /items` per row."""
    rates = {}
    for count in clients:
        with ThreadPoolExecutor(count) as pool:
            started = time.perf_counter()
            runs = [pool.submit(post_batches, base, headers, n, batches) for n in range(count)]
            for run in runs:
                run.result()
        rates[count] = count * batches * 1000 / (time.perf_counter() - started)
        print(f"bulk upsert, 1000-row batches, {count} client(s): {rates[count]:8.0f} rows/s")
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        for n in range(singles):
            client.post("/api/v1/items", json={"title": f"single {n}"}).raise_for_status()
        single_rate = singles / (time.perf_counter() - started)
    print(
        f"POST /items one at a time: {single_rate:8.0f} rows/s "
        f"(bulk with {clients[0]} client(s): {rates[clients[0]] / single_rate:.0f}x as many)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--server", default="postgresql+asyncpg://root@127.0.0.1:5432/test")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--clients", default="1,4", help="concurrent bulk clients, comma-separated")
    args = parser.parse_args()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    database_url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(args.server, f'CREATE DATABASE "{name}"'))
    server = None
    try:
        log = Path(tempfile.gettempdir()) / f"{name}.log"
        server = start_app(args.port, database_url, log, AUTO_MIGRATE="true")
        base, email = f"http://127.0.0.1:{args.port}", "bench@example.com"
        httpx.post(f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        asyncio.run(seed(database_url, email, args.rows))
        print(f"seeded {args.rows} items in {time.perf_counter() - started:.1f} s")
        measure(base, headers, args.depth)
        clients = [int(count) for count in args.clients.split(",")]
        bulk_throughput(base, headers, batches=20, singles=500, clients=clients)
    finally:
        if server is not None:
            server.stop()
        asyncio.run(admin(args.server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
