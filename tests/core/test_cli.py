"""`app serve` end to end as a real process, and `app openapi`."""

import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.live import STARTUP_TIMEOUT_SECONDS, LiveServer, LiveServerFactory


class TestServe:
    def test_first_serve_migrates_and_becomes_ready(
        self, live_server: LiveServerFactory, fresh_database_url: str
    ) -> None:
        server = live_server(fresh_database_url, ready=False)

        response = server.wait_until_ready()

        assert response.json()["checks"] == {"database": "ok", "jobs": "ok"}
        assert "server" not in response.headers
        if fresh_database_url.startswith("sqlite"):
            assert Path(fresh_database_url.split("///", 1)[1]).is_file()

    def test_sigterm_shuts_down_gracefully(
        self, live_server: LiveServerFactory, fresh_database_url: str
    ) -> None:
        server = live_server(fresh_database_url)

        assert server.terminate() == -signal.SIGTERM
        assert "Application shutdown complete" in server.log()


class TestWorkers:
    """`serve --workers N`: N processes behind one port, one JSON access line per request from
    structlog (uvicorn's own access log is off), and metrics summed over the workers."""

    REQUESTS = 40

    def test_workers_serve_log_and_count_together(
        self, live_server: LiveServerFactory, fresh_database_url: str
    ) -> None:
        server = live_server(fresh_database_url, "--workers", "2")
        # Ready means one worker answers; the other may still be importing the app.
        self.wait_for_workers(server, 2)
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(self.get_live, [server.base_url] * self.REQUESTS))
        # Each scrape opens a new connection, so different workers answer them.
        scrapes = [self.counted(server.base_url) for _ in range(10)]
        lines = [orjson.loads(line) for line in server.log().splitlines()]

        assert statuses == [200] * self.REQUESTS
        assert [self.parent(pid) for pid in self.worker_pids(lines)] == [server.process.pid] * 2
        assert scrapes == [self.REQUESTS] * 10
        accessed = [line for line in lines if line.get("path") == "/health/live"]
        assert len(accessed) == self.REQUESTS
        assert {line["logger"] for line in accessed} == {"app.access"}
        assert not [line for line in lines if line.get("logger") == "uvicorn.access"]

    @classmethod
    def wait_for_workers(cls, server: LiveServer, count: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while server.log().count("Application startup complete") < count:
            assert time.monotonic() < deadline, f"{count} workers did not start:\n{server.log()}"
            time.sleep(0.1)

    @staticmethod
    def get_live(base_url: str) -> int:
        return httpx.get(f"{base_url}/health/live").status_code

    @staticmethod
    def counted(base_url: str) -> float:
        metrics = httpx.get(f"{base_url}/metrics").text
        pattern = r'http_requests_total\{method="GET",route="/health/live",status="200"\} (\S+)'
        return float(re.findall(pattern, metrics)[0])

    @staticmethod
    def worker_pids(lines: list[dict[str, object]]) -> list[int]:
        started = [
            re.fullmatch(r"Started server process \[(\d+)\]", str(line["event"])) for line in lines
        ]
        return [int(match[1]) for match in started if match]

    @staticmethod
    def parent(pid: int) -> int:
        # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, hence rsplit on ")".
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


class TestProxyHeaders:
    """The client IP recorded for a session comes from X-Forwarded-For only via trusted proxies."""

    def session_ip(self, base_url: str, email: str) -> str:
        body = {"email": email, "password": "proxy password"}
        httpx.post(f"{base_url}/api/v1/auth/register", json=body)
        forwarded = {"X-Forwarded-For": "203.0.113.9"}
        token = httpx.post(f"{base_url}/api/v1/auth/login", json=body, headers=forwarded).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        (session,) = httpx.get(f"{base_url}/api/v1/auth/sessions", headers=headers).json()
        return str(session["ip"])

    def test_trusted_proxy_sets_the_client_ip(
        self, live_server: LiveServerFactory, fresh_database_url: str
    ) -> None:
        server = live_server(fresh_database_url, FORWARDED_ALLOW_IPS="127.0.0.1")

        assert self.session_ip(server.base_url, "trusted@example.com") == "203.0.113.9"

    @pytest.mark.parametrize("trusted", [None, ""], ids=["by-default", "explicitly"])
    def test_untrusted_forwarded_header_is_ignored(
        self,
        live_server: LiveServerFactory,
        fresh_database_url: str,
        monkeypatch: pytest.MonkeyPatch,
        trusted: str | None,
    ) -> None:
        """No proxy is trusted by default: a local process cannot claim another address."""
        monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
        environment = {} if trusted is None else {"FORWARDED_ALLOW_IPS": trusted}
        server = live_server(fresh_database_url, **environment)

        assert self.session_ip(server.base_url, "untrusted@example.com") == "127.0.0.1"


class TestOpenapiCommand:
    def test_writes_the_schema(self, tmp_path: Path) -> None:
        output = tmp_path / "openapi.json"

        result = CliRunner().invoke(cli, ["openapi", "--output", str(output)])

        assert result.exit_code == 0, result.output
        schema = orjson.loads(output.read_bytes())
        assert schema["openapi"].startswith("3.")
        assert "/health/ready" in schema["paths"]
        assert schema["paths"]["/health/live"]["get"]["operationId"] == "health_live"
