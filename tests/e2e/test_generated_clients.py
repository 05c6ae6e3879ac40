"""Clients generated from `app openapi`: a Python client (openapi-python-client) that drives a
real server, and TypeScript types (openapi-typescript) that type-check; both without a warning."""

import importlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import pytest

from tests.conftest import REPO_ROOT
from tests.live import LiveServerFactory

PYTHON_GENERATOR = "openapi-python-client==0.29.1"
TYPESCRIPT = REPO_ROOT / "clients" / "typescript"
PACKAGE = "app_client"
PASSWORD = "generated client password"
# How the generators report problems (paths in their output are left alone: `_warnings0`).
TROUBLE = re.compile(r"\b(warn|warning|warnings|error|errors)\b", re.IGNORECASE)


def run(*command: str | Path, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 0 and not a word of warning (nor error) from the generator."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not TROUBLE.search(output), output


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    result = run(sys.executable, "-m", "app", "openapi", "--output", path)
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def python_generation(
    schema: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = tmp_path_factory.mktemp("python-client")
    result = run(
        "uvx", "--from", PYTHON_GENERATOR, "openapi-python-client", "generate",
        "--path", schema, "--output-path", folder / PACKAGE, "--meta", "none",
        "--fail-on-warning",
    )  # fmt: skip
    return result, folder


@pytest.fixture
def client_package(
    python_generation: tuple[subprocess.CompletedProcess[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ModuleType]:
    result, folder = python_generation
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(folder)
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def operation(tag: str, operation_id: str) -> Any:
    """A generated endpoint module: `sync()` parses the body, `sync_detailed()` adds the status."""
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation_id}")


class TestPythonClient:
    def test_generates_without_warnings(
        self, python_generation: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        result, folder = python_generation

        assert_clean(result)
        assert (folder / PACKAGE / "api" / "items" / "list_items.py").is_file()

    def test_registers_logs_in_pages_and_deletes(
        self, client_package: ModuleType, live_server: LiveServerFactory, fresh_database_url: str
    ) -> None:
        models = importlib.import_module(f"{PACKAGE}.models")
        server = live_server(fresh_database_url)
        anonymous = client_package.Client(base_url=server.base_url, raise_on_unexpected_status=True)
        email = f"client-{uuid4().hex}@example.com"

        user = operation("auth", "register").sync(
            client=anonymous, body=models.UserCreate(email=email, password=PASSWORD)
        )
        token = operation("auth", "login").sync(
            client=anonymous, body=models.LoginRequest(email=email, password=PASSWORD)
        )
        client = client_package.AuthenticatedClient(
            base_url=server.base_url, token=token.access_token, raise_on_unexpected_status=True
        )
        titles = [f"item {n}" for n in range(5)]
        created = [
            operation("items", "create_item").sync(client=client, body=models.ItemCreate(title=t))
            for t in titles
        ]

        assert (user.email, token.token_type) == (email, "bearer")
        assert [item.title for item in created] == titles
        assert offset_pages(client, size=2) == [titles[0:2], titles[2:4], titles[4:]]
        assert cursor_pages(client, size=2) == [titles[0:2], titles[2:4], titles[4:]]

        deleted = operation("items", "delete_item").sync_detailed(created[0].id, client=client)
        gone = operation("items", "get_item").sync(created[0].id, client=client)

        assert deleted.status_code == 204
        assert (type(gone).__name__, gone.error_code) == ("ErrorBody", "NOT_FOUND")
        assert offset_pages(client, size=10) == [titles[1:]]


def offset_pages(client: Any, *, size: int) -> list[list[str]]:
    """Titles page by page, by `offset` until `total` is reached."""
    list_items, pages, offset = operation("items", "list_items"), [], 0
    while True:
        page = list_items.sync(client=client, limit=size, offset=offset, order_by="title")
        pages.append([item.title for item in page.items])
        offset += size
        if offset >= page.total:
            return pages


def cursor_pages(client: Any, *, size: int) -> list[list[str]]:
    """Titles page by page: the first page, then `next_cursor` until there is none."""
    list_items, pages = operation("items", "list_items"), []
    page = list_items.sync(client=client, limit=size, order_by="title")
    while True:
        pages.append([item.title for item in page.items])
        if not isinstance(page.next_cursor, str):
            return pages
        page = list_items.sync(client=client, limit=size, cursor=page.next_cursor, order_by="title")


@pytest.fixture(scope="module")
def typescript_tools() -> Path:
    """The pinned packages of clients/typescript, installed as CI does when missing."""
    if not (TYPESCRIPT / "node_modules").is_dir():
        result = run("npm", "ci", "--no-audit", "--no-fund", cwd=TYPESCRIPT)
        assert result.returncode == 0, result.stderr
    return TYPESCRIPT / "node_modules" / ".bin"


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs node and npm for openapi-typescript")
def test_typescript_types_generate_without_warnings_and_type_check(
    typescript_tools: Path, schema: Path, tmp_path: Path
) -> None:
    for name in ("tsconfig.json", "usage.ts"):
        shutil.copy(TYPESCRIPT / name, tmp_path)

    generated = run(typescript_tools / "openapi-typescript", schema, "-o", tmp_path / "schema.d.ts")
    checked = run(typescript_tools / "tsc", "-p", tmp_path)

    assert_clean(generated)
    assert checked.returncode == 0, checked.stdout + checked.stderr
