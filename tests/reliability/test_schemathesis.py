"""Schemathesis (every check, every phase) against a real server, as ordinary users and as a
superuser. Zero failures; the configuration and its few documented overrides are in
`schemathesis.toml` next to this file."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from app.core.config import Settings
from tests.live import LiveServer, LiveServerFactory

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("st")
# Fixed, so a failure in CI reproduces locally with the same command.
SEED = "20261122"
MAX_EXAMPLES = "25"
PASSWORDS = {
    "alice": "alice's long password",
    "bob": "bob's long password",
    "admin": "the admin's long password",
}
CREATE_SUPERUSER = (sys.executable, "-m", "app", "users", "create-superuser")
UNLIMITED = {"RATE_LIMIT_LOGIN_EMAIL": "", "RATE_LIMIT_LOGIN_IP": "", "RATE_LIMIT_REGISTER_IP": ""}


def wfc_identity(name: str) -> dict[str, object]:
    """One Web Fuzzing Commons auth entry: log in with JSON, send the token as a bearer."""
    return {
        "name": name,
        "loginEndpointAuth": {
            "endpoint": "/api/v1/auth/login",
            "verb": "POST",
            "contentType": "application/json",
            "payloadUserPwd": {
                "username": f"{name}@example.com",
                "usernameField": "email",
                "password": PASSWORDS[name],
                "passwordField": "password",
            },
            "token": {
                "extractFrom": "body",
                "extractSelector": "/access_token",
                "sendIn": "header",
                "sendName": "Authorization",
                "sendTemplate": "Bearer {token}",
            },
        },
    }


def sign_up_identities(server: LiveServer, database_url: str, folder: Path) -> Path:
    for name in ("alice", "bob"):
        body = {"email": f"{name}@example.com", "password": PASSWORDS[name]}
        httpx.post(f"{server.base_url}/api/v1/auth/register", json=body).raise_for_status()
    subprocess.run(
        [*CREATE_SUPERUSER, "--email", "admin@example.com", "--password", PASSWORDS["admin"]],
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )
    auth_file = folder / "wfc-auth.json"
    auth_file.write_bytes(orjson.dumps({"auth": [wfc_identity(name) for name in PASSWORDS]}))
    return auth_file


def schemathesis(server: LiveServer, auth_file: Path, user: str, *options: str) -> None:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        "--seed",
        SEED,
        "--max-examples",
        MAX_EXAMPLES,
        *options,
    ]
    environment = {**os.environ, "WFC_AUTH_FILE": str(auth_file), "WFC_USER": user}
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f"{result.stdout}\n{result.stderr}\n--- server log ---\n{server.log()}"
    )


def test_schemathesis_finds_nothing(
    live_server: LiveServerFactory, fresh_database_url: str, tmp_path: Path, settings: Settings
) -> None:
    server = live_server(fresh_database_url, **UNLIMITED)
    auth_file = sign_up_identities(server, fresh_database_url, tmp_path)

    schemathesis(server, auth_file, "alice")
    # The administration routes answer an ordinary user 403 only; fuzz them as a superuser.
    schemathesis(server, auth_file, "admin", "--include-path-regex", "^/api/v1/users")
