"""Memory under sustained load: the app's RSS across N authenticated requests.

    uv run python -m bench.soak [--requests 1000000] [--connections 32]

Seeds a fresh PostgreSQL database as `python -m bench` does, starts `app serve` (1 worker),
then runs wrk with a mix of reads and writes (GET /users/me, GET /items/{id}, a list page,
POST /items) in rounds until the total reaches N, sampling the server's resident memory after
every round. RSS after the first round (pools, caches and code warm) is the baseline.
"""

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.runner import WRK_DIR, Bench, admin, free_port, with_database
from bench.server import Server, start_app

ROUND_SECONDS = 30


def rss_mib(server: Server) -> float:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def wrk_round(server: Server, environment: dict[str, str], connections: int) -> int:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{ROUND_SECONDS}s", "--timeout=15s"]
    command += ["-s", str(WRK_DIR / "mixed.lua"), server.base_url]
    finished = subprocess.run(
        command, env={**os.environ, **environment}, capture_output=True, text=True, check=True
    )
    line = next(x for x in finished.stdout.splitlines() if x.startswith("BENCH-RESULT "))
    result = json.loads(line.removeprefix("BENCH-RESULT "))
    bad = sum(n for status, n in result["statuses"].items() if not status.startswith("2"))
    if bad or any(result[kind] for kind in ("connect", "read", "write", "timeout")):
        raise RuntimeError(f"errors during the soak: {result}")
    return int(result["requests"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server", default="postgresql://root@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        bench = Bench.seeding_only(args.server, Path(workdir), items=10_000)
        with bench.seeded():
            database = f"soak_{os.getpid()}"
            create = f'CREATE DATABASE "{database}" TEMPLATE "{bench.template}"'
            asyncio.run(admin(args.server, create))
            url = with_database(args.server, database, driver="+asyncpg")
            server = start_app(free_port(), url, Path(workdir) / "app.log")
            try:
                soak(bench, server, args.requests, args.connections)
            finally:
                server.stop()
                asyncio.run(admin(args.server, f'DROP DATABASE "{database}" WITH (FORCE)'))


def soak(bench: Bench, server: Server, total: int, connections: int) -> None:
    environment = bench.wrk_environment(server)
    started, done = time.monotonic(), wrk_round(server, environment, connections)
    baseline = rss_mib(server)
    samples = [(done, baseline)]
    print(f"{done:>9} requests  RSS {baseline:7.1f} MiB (baseline)", flush=True)
    while done < total:
        done += wrk_round(server, environment, connections)
        samples.append((done, rss_mib(server)))
        print(f"{done:>9} requests  RSS {samples[-1][1]:7.1f} MiB", flush=True)
    final, peak = samples[-1][1], max(rss for _, rss in samples)
    minutes = (time.monotonic() - started) / 60
    print(
        f"\n{done:,} requests in {minutes:.1f} min, no errors: RSS baseline {baseline:.1f} MiB, "
        f"final {final:.1f} MiB ({(final / baseline - 1) * 100:+.1f} %), peak {peak:.1f} MiB"
    )


if __name__ == "__main__":
    main()
