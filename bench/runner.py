"""Runs every scenario against the app and the floor, one server at a time, and records results.

For each scenario, connection count and repeat, each app (in alternating order) gets a fresh copy
of one seeded template database, a fresh server process, a warm-up, then a timed wrk run.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.server import Server, start_app, start_floor

HERE = Path(__file__).resolve().parent
WRK_DIR = HERE / "wrk"
EMAIL, PASSWORD = "bench@example.com", "benchmark password 1"
OTHER_EMAIL = "other@example.com"
APPS = ("app", "floor")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    # Write scenarios whose state the wrk script tracks warm up on a read instead.
    warmup: str | None = None
    # Lists: the page size (`BENCH_LIMIT`), for the cost per row; the wrk script if not `name`.
    rows: int = 0
    script: str = ""

    @property
    def wrk_script(self) -> str:
        return f"{self.script or self.name}.lua"


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("users_me", "GET /users/me"),
        Scenario("get_item", "GET /items/{id}"),
        Scenario("list_offset", "GET /items?limit=20 (offset + total)", rows=20),
        Scenario(
            "list_offset_100",
            "GET /items?limit=100 (offset + total)",
            rows=100,
            script="list_offset",
        ),
        Scenario("list_cursor", "GET /items?limit=20&cursor= (keyset)", rows=20),
        Scenario(
            "list_cursor_100",
            "GET /items?limit=100&cursor= (keyset)",
            rows=100,
            script="list_cursor",
        ),
        Scenario("create_item", "POST /items"),
        Scenario("update_item", "PATCH /items/{id} + If-Match", warmup="get_item"),
        Scenario("bulk_upsert", "POST /items/bulk (1000 rows)"),
        Scenario("login", "POST /auth/login (Argon2id)"),
    )
}


@dataclass(frozen=True)
class Options:
    server_url: str  # libpq URL of a PostgreSQL server; databases are created on it
    scenarios: tuple[str, ...]
    connections: tuple[int, ...]
    duration: int
    warmup: int
    repeats: int
    items: int
    workers: int
    timeout: int
    workdir: Path
    # The app's Redis (the auth cache of several workers needs one); empty runs it without.
    redis_url: str = ""


@dataclass
class Run:
    app: str
    scenario: str
    connections: int
    repeat: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    statuses: dict[str, int]
    missing_retry_after: int
    cpu_us_per_request: float
    extra: dict[str, Any] = field(default_factory=dict)
    # The app's own access log for the timed run, read once the server is idle again: answers
    # by status and the slowest, including the requests wrk left in flight when it stopped.
    served: dict[str, int] = field(default_factory=dict)
    served_max_ms: float = 0.0

    @property
    def rate(self) -> float:
        """2xx answers per second: a 503 shed at once is not throughput."""
        return (self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_database(server_url: str, name: str, *, driver: str = "") -> str:
    scheme, rest = server_url.split("://", 1)
    base = rest.rsplit("/", 1)[0]
    return f"{scheme.split('+')[0]}{driver}://{base}/{name}"


async def admin(server_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class Bench:
    def __init__(self, options: Options):
        self.options = options
        self.template = f"bench_{os.getpid()}_template"
        self.token = ""
        self.items_file = options.workdir / "items.txt"

    @classmethod
    def seeding_only(cls, server_url: str, workdir: Path, items: int) -> "Bench":
        """A bench used only for `seeded()`: the template database, its user and token."""
        return cls(Options(server_url, (), (), 0, 0, 1, items, 1, 15, workdir))

    def run(self) -> list[Run]:
        runs: list[Run] = []
        with self.seeded():
            for name in self.options.scenarios:
                for connections in self.options.connections:
                    for repeat in range(self.options.repeats):
                        order = APPS if repeat % 2 == 0 else APPS[::-1]
                        for app in order:
                            runs.append(self.measure(app, SCENARIOS[name], connections, repeat))
                            print(describe(runs[-1]), flush=True)
        return runs

    @contextmanager
    def seeded(self) -> Iterator[None]:
        """The template database: migrated, one benchmark user with a session and its items,
        and as many items of another user (lists must filter by owner)."""
        url = self.options.server_url
        asyncio.run(admin(url, f'CREATE DATABASE "{self.template}"'))
        try:
            database_url = with_database(url, self.template, driver="+asyncpg")
            subprocess.run(
                [sys.executable, "-m", "app", "db", "upgrade"],
                env={**os.environ, "DATABASE_URL": database_url},
                check=True,
                capture_output=True,
            )
            server = start_app(free_port(), database_url, self.options.workdir / "seed.log")
            try:
                self.token = seed(server.base_url, self.options.items)
            finally:
                server.stop()
            asyncio.run(self.write_item_ids())
            yield
        finally:
            asyncio.run(admin(url, f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))

    async def write_item_ids(self) -> None:
        connection = await asyncpg.connect(with_database(self.options.server_url, self.template))
        try:
            rows = await connection.fetch(
                "SELECT i.id FROM items i JOIN users u ON u.id = i.owner_id "
                "WHERE u.email = $1 ORDER BY i.id",
                EMAIL,
            )
            # Fresh statistics, as autovacuum would have on a live database: without them the
            # planner scans instead of using the list indexes.
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        self.items_file.write_text("".join(f"{row['id']}\n" for row in rows))

    def measure(self, app: str, scenario: Scenario, connections: int, repeat: int) -> Run:
        database = f"bench_{os.getpid()}_run"
        url = self.options.server_url
        asyncio.run(admin(url, f'CREATE DATABASE "{database}" TEMPLATE "{self.template}"'))
        try:
            server = self.start(app, database)
            try:
                return self.timed(server, app, scenario, connections, repeat)
            finally:
                server.stop()
        finally:
            asyncio.run(admin(url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    def start(self, app: str, database: str) -> Server:
        log = self.options.workdir / f"{app}.log"
        if app == "floor":
            return start_floor(free_port(), with_database(self.options.server_url, database), log)
        database_url = with_database(self.options.server_url, database, driver="+asyncpg")
        workers = ("--workers", str(self.options.workers)) if self.options.workers > 1 else ()
        return start_app(free_port(), database_url, log, *workers, REDIS_URL=self.options.redis_url)

    def timed(
        self, server: Server, app: str, scenario: Scenario, connections: int, repeat: int
    ) -> Run:
        environment = self.wrk_environment(server)
        if self.options.warmup:
            warmup = SCENARIOS[scenario.warmup or scenario.name]
            self.wrk(server, warmup, connections, self.options.warmup, environment)
            server.settle()
        log_offset = server.log.stat().st_size
        cpu_before = server.cpu_seconds()
        result = self.wrk(server, scenario, connections, self.options.duration, environment)
        cpu = server.cpu_seconds() - cpu_before
        server.settle()
        served, served_max_ms = answers_logged(server.log, log_offset) if app == "app" else ({}, 0)
        requests = int(result["requests"])
        return Run(
            app=app,
            scenario=scenario.name,
            connections=connections,
            repeat=repeat,
            requests=requests,
            seconds=result["duration_us"] / 1e6,
            p50_ms=result["p50_us"] / 1e3,
            p99_ms=result["p99_us"] / 1e3,
            max_ms=result["max_us"] / 1e3,
            socket_errors=sum(result[kind] for kind in ("connect", "read", "write", "timeout")),
            statuses={str(status): n for status, n in result["statuses"].items()},
            missing_retry_after=int(result["missing_retry_after"]),
            cpu_us_per_request=cpu / requests * 1e6 if requests else 0.0,
            served=served,
            served_max_ms=served_max_ms,
        )

    def wrk_environment(self, server: Server) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        first = httpx.get(f"{server.base_url}/api/v1/items?limit=20", headers=headers).json()
        return {
            "BENCH_WRK_DIR": str(WRK_DIR),
            "BENCH_TOKEN": self.token,
            "BENCH_ITEMS": str(self.items_file),
            "BENCH_CURSOR": first["next_cursor"],
            "BENCH_THREADS": "2",
            "BENCH_EMAIL": EMAIL,
            "BENCH_PASSWORD": PASSWORD,
        }

    def wrk(
        self,
        server: Server,
        scenario: Scenario,
        connections: int,
        seconds: int,
        environment: dict[str, str],
    ) -> dict[str, Any]:
        command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
        command += [
            f"--timeout={self.options.timeout}s",
            "-s",
            str(WRK_DIR / scenario.wrk_script),
        ]
        limit = {"BENCH_LIMIT": str(scenario.rows)} if scenario.rows else {}
        finished = subprocess.run(
            [*command, server.base_url],
            env={**os.environ, **environment, **limit},
            capture_output=True,
            text=True,
            check=True,
        )
        for line in finished.stdout.splitlines():
            if line.startswith("BENCH-RESULT "):
                result: dict[str, Any] = json.loads(line.removeprefix("BENCH-RESULT "))
                return result
        raise RuntimeError(f"wrk printed no result:\n{finished.stdout}\n{finished.stderr}")


def answers_logged(log: Path, offset: int) -> tuple[dict[str, int], float]:
    """Answers by status in the app's JSON access log after `offset`, and the slowest (ms)."""
    statuses: dict[str, int] = {}
    slowest = 0.0
    with log.open("rb") as lines:
        lines.seek(offset)
        for line in lines:
            if not line.startswith(b"{"):
                continue
            entry = json.loads(line)
            if (entry.get("logger"), entry.get("event")) == ("app.access", "request"):
                status = str(entry["status"])
                statuses[status] = statuses.get(status, 0) + 1
                slowest = max(slowest, float(entry["duration_ms"]))
    return statuses, slowest


def seed(base_url: str, items: int) -> str:
    """Two users with `items` items each, through the API; the benchmark user's token."""
    tokens = {}
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=60) as client:
        for email in (EMAIL, OTHER_EMAIL):
            client.post("/auth/register", json={"email": email, "password": PASSWORD})
            login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for start in range(0, items, 1000):
                rows = [
                    {"title": f"item {n:07d}", "description": f"seeded item {n} of {email}"}
                    for n in range(start, min(start + 1000, items))
                ]
                created = client.post("/items/bulk", json={"items": rows}, headers=headers)
                created.raise_for_status()
            tokens[email] = str(login.json()["access_token"])
    return tokens[EMAIL]


def describe(run: Run) -> str:
    return (
        f"{run.scenario:12} c={run.connections:<3} #{run.repeat} {run.app:5}  "
        f"{run.rate:9.1f} req/s  p50 {run.p50_ms:8.2f} ms  p99 {run.p99_ms:8.2f} ms  "
        f"non-2xx {run.non_2xx}  socket errors {run.socket_errors}  "
        f"cpu {run.cpu_us_per_request:7.0f} us/req"
    )


def save(runs: list[Run], path: Path) -> None:
    path.write_text(json.dumps([asdict(run) for run in runs], indent=1))


def load(path: Path) -> list[Run]:
    return [Run(**run) for run in json.loads(path.read_text())]
