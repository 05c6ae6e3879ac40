"""Login storm: logins/s with 16 clients, and /health/live latency during the storm vs idle.

Starts `app serve` (1 worker, production Argon2 parameters) on a fresh SQLite file unless
DATABASE_URL is set, creates one user, then runs wrk (Debian package `wrk`):

    uv run python -m bench.login_storm [--seconds 10] [--clients 16]

Rate limits are turned off for the run, since every request comes from one IP.
"""

import argparse
import asyncio
import os
import re
import subprocess
import tempfile
from pathlib import Path

import httpx

from bench.server import start_app

WRK_DIR = Path(__file__).resolve().parent / "wrk"
EMAIL, PASSWORD = "storm@example.com", "storm password 1"


def wrk(url: str, *, clients: int, seconds: int, script: Path | None = None) -> str:
    command = ["wrk", f"-c{clients}", f"-t{min(clients, 2)}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), "BENCH_EMAIL": EMAIL}
    env["BENCH_PASSWORD"] = PASSWORD
    return subprocess.run(
        [*command, url], capture_output=True, text=True, env=env, check=True
    ).stdout


def summary(output: str) -> str:
    """`p50 …, p99 …, N req/s` from wrk's --latency output."""
    found = {
        name: (match.group(1) if (match := re.search(pattern, output)) else "?")
        for name, pattern in (
            ("p50", r"50%\s+(\S+)"),
            ("p99", r"99%\s+(\S+)"),
            ("rate", r"Requests/sec:\s+([\d.]+)"),
        )
    }
    return f"p50 {found['p50']}, p99 {found['p99']}, {found['rate']} req/s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as folder:
        database_url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{folder}/bench.db")
        server = start_app(
            args.port, database_url, Path(folder) / "server.log", AUTO_MIGRATE="true"
        )
        try:
            httpx.post(f"{base}/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
            idle = wrk(f"{base}/health/live", clients=1, seconds=args.seconds)
            storm_live: list[str] = []

            async def during_storm() -> str:
                storm = asyncio.to_thread(
                    wrk,
                    f"{base}/api/v1/auth/login",
                    clients=args.clients,
                    seconds=args.seconds,
                    script=WRK_DIR / "login.lua",
                )
                await asyncio.sleep(1)
                live = asyncio.to_thread(
                    wrk, f"{base}/health/live", clients=1, seconds=args.seconds - 2
                )
                storm_out, live_out = await asyncio.gather(storm, live)
                storm_live.append(live_out)
                return storm_out

            storm = asyncio.run(during_storm())
        finally:
            server.stop()
    print(f"login, {args.clients} clients: {summary(storm)}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", storm)
    print(f"  non-2xx answers: {errors.group(1) if errors else 0}")
    print(f"/health/live idle: {summary(idle)}")
    print(f"/health/live during the storm: {summary(storm_live[0])}")


if __name__ == "__main__":
    main()
