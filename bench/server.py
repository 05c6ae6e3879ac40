"""The two servers a benchmark compares, each one process on loopback, ready before use."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_SECONDS = 30
# Idle: under 5 % of a core over half a second.
QUIET_SECONDS, IDLE_CPU_SHARE = 0.5, 0.05
REPO = Path(__file__).resolve().parent.parent
# Production settings with the per-IP and per-email login limits off: every benchmark request
# comes from one address. Logging and metrics stay on; the log goes to a file.
APP_ENVIRONMENT = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "benchmark-secret-key-not-for-production-use-0123456789",
    "AUTO_MIGRATE": "false",
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    "REDIS_URL": "",
    "RATE_LIMIT_LOGIN_EMAIL": "",
    "RATE_LIMIT_LOGIN_IP": "",
    "RATE_LIMIT_REGISTER_IP": "",
    # Production mode needs real mail; the benchmark measures requests, not delivery: the
    # seeding's verification mails stay queued.
    "EMAIL_BACKEND": "smtp",
    "SMTP_PORT": "9",
    "JOBS_WORKER": "false",
}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def cpu_seconds(self) -> float:
        """User + system CPU so far of the server process and its workers (threads included)."""
        ticks = sum(_cpu_ticks(pid) for pid in _with_descendants(self.process.pid))
        return ticks / os.sysconf("SC_CLK_TCK")

    def settle(self, limit: float = 60.0) -> None:
        """Returns once the server is idle: wrk stops without waiting for the requests it has
        in flight, and the server still serves them; nothing is measured until it is done."""
        deadline = time.monotonic() + limit
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(QUIET_SECONDS)
            now = self.cpu_seconds()
            if now - before < IDLE_CPU_SHARE * QUIET_SECONDS:
                return
            before = now
        raise RuntimeError(f"the server was still busy {limit:.0f} s after the load stopped")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # with any worker processes
            self.process.wait()


def _with_descendants(pid: int) -> list[int]:
    # `serve --workers N` forks its workers: they, not the supervisor, serve the requests.
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(found for child in children for found in _with_descendants(int(child)))]


def _cpu_ticks(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces, hence rsplit on ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def start_app(port: int, database_url: str, log: Path, *args: str, **settings: str) -> Server:
    """`app serve` (SQLAlchemy URL), one worker unless `args` say otherwise."""
    environment = {**APP_ENVIRONMENT, "DATABASE_URL": database_url, **settings}
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), *args]
    return start(command, port, log, environment)


def start_floor(port: int, dsn: str, log: Path) -> Server:
    """The floor app (`bench/floor.py`) on uvicorn's fastest: uvloop and httptools (the app
    runs asyncio's loop unless `SERVER_LOOP=uvloop`: fairer under overload, ~5 % slower)."""
    command = [sys.executable, "-m", "uvicorn", "bench.floor:app", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", "--loop", "uvloop"]
    return start([*command, "--http", "httptools"], port, log, {"FLOOR_DATABASE_URL": dsn})


def start(command: list[str], port: int, log: Path, environment: dict[str, str]) -> Server:
    process = subprocess.Popen(
        command,
        env={**os.environ, **environment},
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited; see {log}")
        try:
            if httpx.get(f"{server.base_url}/health/ready").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{command} did not become ready; see {log}")
