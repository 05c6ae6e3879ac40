"""`app serve` end to end as a real process, and `app openapi`."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from app.cli import cli

STARTUP_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during startup"
        try:
            response = httpx.get(f"{base_url}/health/ready", timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        if response.status_code == 200:
            return response
    raise AssertionError("the server did not become ready in time")


class TestServe:
    @pytest.fixture
    def server(
        self, fresh_database_url: str, tmp_path: Path
    ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": fresh_database_url, "REDIS_URL": ""}
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "server.log").open("wb"),
        )
        try:
            yield f"http://127.0.0.1:{port}", process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    def test_first_serve_migrates_and_becomes_ready(
        self, server: tuple[str, subprocess.Popen[bytes]], fresh_database_url: str
    ) -> None:
        base_url, process = server

        response = wait_until_ready(base_url, process)

        assert response.json()["checks"] == {"database": "ok"}
        assert "server" not in response.headers
        if fresh_database_url.startswith("sqlite"):
            assert Path(fresh_database_url.split("///", 1)[1]).is_file()

    def test_sigterm_shuts_down_gracefully(
        self, server: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
    ) -> None:
        base_url, process = server
        wait_until_ready(base_url, process)

        process.send_signal(signal.SIGTERM)

        # uvicorn re-raises the signal after its graceful shutdown, hence -SIGTERM.
        assert process.wait(timeout=15) == -signal.SIGTERM
        assert "Application shutdown complete" in (tmp_path / "server.log").read_text()


class TestProxyHeaders:
    """The client IP recorded for a session comes from X-Forwarded-For only via trusted proxies."""

    @pytest.fixture
    def serve_with(self, fresh_database_url: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
        processes: list[subprocess.Popen[bytes]] = []

        def start(trusted: str) -> str:
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": fresh_database_url,
                "REDIS_URL": "",
                "FORWARDED_ALLOW_IPS": trusted,
                "PASSWORD_HASH_MEMORY_KIB": "1024",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--port", str(port)],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(process)
            base_url = f"http://127.0.0.1:{port}"
            wait_until_ready(base_url, process)
            return base_url

        yield start
        for process in processes:
            process.kill()
            process.wait()

    def session_ip(self, base_url: str, email: str) -> str:
        body = {"email": email, "password": "proxy password"}
        httpx.post(f"{base_url}/api/v1/auth/register", json=body)
        forwarded = {"X-Forwarded-For": "203.0.113.9"}
        token = httpx.post(f"{base_url}/api/v1/auth/login", json=body, headers=forwarded).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        (session,) = httpx.get(f"{base_url}/api/v1/auth/sessions", headers=headers).json()
        return str(session["ip"])

    def test_trusted_proxy_sets_the_client_ip(self, serve_with: Callable[[str], str]) -> None:
        assert self.session_ip(serve_with("127.0.0.1"), "trusted@example.com") == "203.0.113.9"

    def test_untrusted_forwarded_header_is_ignored(self, serve_with: Callable[[str], str]) -> None:
        assert self.session_ip(serve_with(""), "untrusted@example.com") == "127.0.0.1"


class TestOpenapiCommand:
    def test_writes_the_schema(self, tmp_path: Path) -> None:
        output = tmp_path / "openapi.json"

        result = CliRunner().invoke(cli, ["openapi", "--output", str(output)])

        assert result.exit_code == 0, result.output
        schema = orjson.loads(output.read_bytes())
        assert schema["openapi"].startswith("3.")
        assert "/health/ready" in schema["paths"]
        assert schema["paths"]["/health/live"]["get"]["operationId"] == "health_live"
