"""`app serve` end to end as a real process, and `app openapi`."""

import signal
from pathlib import Path

import httpx
import orjson
from typer.testing import CliRunner

from app.cli import cli
from tests.live import LiveServerFactory


class TestServe:
    def test_first_serve_migrates_and_becomes_ready(
        self, live_server: LiveServerFactory, fresh_database_url: str
    ) -> None:
        server = live_server(fresh_database_url, ready=False)

        response = server.wait_until_ready()

        assert response.json()["checks"] == {"database": "ok"}
        assert "server" not in response.headers
        if fresh_database_url.startswith("sqlite"):
            assert Path(fresh_database_url.split("///", 1)[1]).is_file()

    def test_sigterm_shuts_down_gracefully(
        self, live_server: LiveServerFactory, fresh_database_url: str
    ) -> None:
        server = live_server(fresh_database_url)

        assert server.terminate() == -signal.SIGTERM
        assert "Application shutdown complete" in server.log()


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

    def test_untrusted_forwarded_header_is_ignored(
        self, live_server: LiveServerFactory, fresh_database_url: str
    ) -> None:
        server = live_server(fresh_database_url, FORWARDED_ALLOW_IPS="")

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
