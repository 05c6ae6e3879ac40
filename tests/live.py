"""Real `app serve` processes on loopback, for tests that need sockets, signals or two instances.

Tests get them from the `live_server` fixture, which stops every process it started.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_TIMEOUT_SECONDS = 30
# Cheap Argon2 keeps tests fast; production parameters are exercised by the benchmarks.
TEST_ENVIRONMENT = {
    "REDIS_URL": "",
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
    "LOG_FORMAT": "json",
    # Printed mail would put its links' tokens in the server's log: mail goes to an SMTP port
    # nothing listens on (tests that read mail point SMTP_PORT at their own server).
    "EMAIL_BACKEND": "smtp",
    "SMTP_PORT": "9",
    "SMTP_STARTTLS": "false",
    "OUTBOX_MAX_ATTEMPTS": "1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def wait_until_ready(self) -> httpx.Response:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited:\n{self.log()}"
            try:
                response = httpx.get(f"{self.base_url}/health/ready", timeout=1)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                return response
            time.sleep(0.1)
        raise AssertionError(f"the server did not become ready in time:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 15) -> int:
        """SIGTERM, then the exit code (uvicorn re-raises the signal, hence -SIGTERM)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL to the server's whole process group: `--workers N` children go too."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


# The `live_server` fixture's type: `live_server(database_url, *serve_args, **environment)`.
LiveServerFactory = Callable[..., LiveServer]


def start_server(
    database_url: str, folder: Path, *args: str, ready: bool = True, **environment: str
) -> LiveServer:
    """`app serve` on a free port with `environment` on top of the test defaults; stdout and
    stderr go to a log file in `folder`. `args` are extra `serve` options (`--workers 2`; a
    `--port` among them is used instead of a free one)."""
    options = list(args)
    if "--port" in options:
        at = options.index("--port")
        port = int(options[at + 1])
        del options[at : at + 2]
    else:
        port = free_port()
    log_path = folder / f"server-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), *options],
        env={**os.environ, **TEST_ENVIRONMENT, "DATABASE_URL": database_url, **environment},
        cwd=folder,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    if ready:
        server.wait_until_ready()
    return server
