"""Starting `app serve` for a benchmark: one worker on loopback, ready before it returns."""

import os
import subprocess
import sys
import time

import httpx

STARTUP_SECONDS = 30


def start_server(port: int, **settings: str) -> subprocess.Popen[bytes]:
    """`settings` are environment variables (DATABASE_URL=…); logs are quiet."""
    env = {**os.environ, "LOG_LEVEL": "WARNING", **settings}
    server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], env=env)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("server did not start")
