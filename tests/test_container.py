"""The real image: the Dockerfile built by buildah (no daemon needed) on local stand-ins for its
base images (`.ci/stand-in-images`), then its CMD run against the test PostgreSQL and Redis.

Slow: the first build of a run takes a minute or two; the stand-in base images stay in buildah's
storage between runs, the image built here does not. A machine where buildah cannot work (no
chroot, no vfs storage, not installed) skips with the reason; CI installs it.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from tests.conftest import REPO_ROOT, throwaway_database
from tests.live import LiveServer, free_port
from tests.reliability.test_outage import needs_postgres
from tests.secrets_scan import find_secrets
from tests.users.factories import DEFAULT_PASSWORD, unique_email

pytestmark = needs_postgres

BUILDAH = ["buildah", "--storage-driver", "vfs"]
IMAGE = "localhost/app-image-test:latest"
# Bounds on the slow steps: building the base images, then the image itself.
BUILD_SECONDS = 900
REDIS_URL = "redis://127.0.0.1:6379/13"
SHUTDOWN_TIMEOUT = 5
# What the runtime image must not hold, wherever on its PATH.
BUILD_TOOLS = ("uv", "uvx", "gcc", "cc", "c++", "clang", "make")
# The stand-in base is about 125 MB; the venv adds the dependencies' wheels.
MAX_IMAGE_MB = 400


def buildah(*arguments: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [*BUILDAH, *arguments], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"buildah {' '.join(arguments)}:\n{result.stderr}"
    return result.stdout.strip()


def why_buildah_cannot_run() -> str | None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        return f"needs {' and '.join(missing)} (apt-get install buildah debootstrap)"
    if os.geteuid() != 0:
        return "buildah's chroot isolation and vfs storage need root here"
    chroot = shutil.which("chroot")
    if chroot is None:
        return "needs chroot (coreutils)"
    tried = subprocess.run([chroot, "/", "true"], capture_output=True, text=True, check=False)
    if tried.returncode != 0:
        return f"chroot is not allowed here: {tried.stderr.strip()}"
    probe = subprocess.run(
        [*BUILDAH, "from", "scratch"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return f"buildah cannot use vfs storage here: {probe.stderr.strip()}"
    buildah("rm", probe.stdout.strip())
    return None


def build_arguments() -> list[str]:
    """This machine's CA bundle for the build's downloads (it may sit behind a TLS-inspecting
    proxy), as the README tells users to pass one: the build secret `ca`, named by the
    Dockerfile's `SSL_CERT_FILE` argument."""
    bundle = os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    if not Path(bundle).is_file():
        return []
    return ["--secret", f"id=ca,src={bundle}", "--build-arg", "SSL_CERT_FILE=/run/secrets/ca"]


@pytest.fixture(scope="module")
def image() -> Iterator[dict[str, Any]]:
    """The image built from the repository's Dockerfile, with its Docker config; removed after."""
    reason = why_buildah_cannot_run()
    if reason is not None:
        pytest.skip(reason)
    subprocess.run([REPO_ROOT / ".ci" / "stand-in-images"], check=True, timeout=BUILD_SECONDS)
    try:
        buildah(
            "build",
            "--isolation", "chroot",
            "--network", "host",
            "--pull=never",
            "--format", "docker",
            *build_arguments(),
            "--tag", IMAGE,
            str(REPO_ROOT),
            timeout=BUILD_SECONDS,
        )  # fmt: skip
        inspected = json.loads(buildah("inspect", "--type", "image", IMAGE))
        yield inspected["Docker"]["config"]
    finally:
        subprocess.run([*BUILDAH, "rmi", "--force", IMAGE], capture_output=True, check=False)
        # The build's intermediate images: the storage keeps only the base images between runs.
        subprocess.run([*BUILDAH, "rmi", "--prune"], capture_output=True, check=False)


@pytest.fixture(scope="module")
def container(image: dict[str, Any]) -> Iterator[str]:
    name = buildah("from", "--pull=never", IMAGE)
    yield name
    buildah("rm", name)


@pytest.fixture(scope="module")
def root(container: str) -> Iterator[Path]:
    """The container's filesystem, as the host sees it."""
    yield Path(buildah("mount", container))
    buildah("umount", container)


@pytest.fixture(scope="module")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with throwaway_database(tmp_path_factory.mktemp("image")) as url:
        yield url


@pytest.fixture(scope="module")
def environment(database_url: str) -> dict[str, str]:
    """What a deployment sets on top of the image's ENV (production mode)."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "image-test-secret-key-not-the-default-" + "k3Y" * 8,
        "SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT),
        # Production refuses printed mail; nothing listens on the discard port.
        "EMAIL_BACKEND": "smtp",
        "SMTP_PORT": "9",
        "SMTP_STARTTLS": "false",
    }


@pytest.fixture(scope="module")
def served(
    image: dict[str, Any],
    container: str,
    environment: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """The image's CMD in the container, on the host's network: loopback and a free port
    added to it, so the test reaches nothing beyond this machine."""
    port = free_port()
    command = [*image["Cmd"], "--host", "127.0.0.1", "--port", str(port)]
    log_path = tmp_path_factory.mktemp("served") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            in_container(container, command, environment),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.kill()
        with Redis.from_url(REDIS_URL) as redis:
            redis.flushdb()


def test_the_image_serves_as_its_unprivileged_user_and_passes_its_healthcheck(
    image: dict[str, Any],
    container: str,
    root: Path,
    served: LiveServer,
    environment: dict[str, str],
) -> None:
    email = unique_email()
    credentials = {"email": email, "password": DEFAULT_PASSWORD}
    api = f"{served.base_url}/api/v1"
    registered = httpx.post(f"{api}/auth/register", json=credentials)
    token = httpx.post(f"{api}/auth/login", json=credentials).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"{api}/items", json={"title": "from the image"}, headers=headers)
    fetched = httpx.get(f"{api}/items/{created.json()['id']}", headers=headers)

    assert (registered.status_code, created.status_code) == (201, 201)
    assert fetched.json()["title"] == "from the image"
    assert uid_of(app_process(served)) == passwd_uid(root, image["User"]) != 0
    assert run_healthcheck(image, container, served) == 0
    # `app db check` fails unless the schema `serve` migrated matches the installed models.
    assert run_in(container, "app", "db", "check", **environment) == 0
    log = served.log()
    assert all(json.loads(line) for line in log.splitlines() if line.strip()), log
    assert not find_secrets(log)


def test_the_image_holds_the_installed_app_only(image: dict[str, Any], root: Path) -> None:
    path = next(entry for entry in image["Env"] if entry.startswith("PATH=")).removeprefix("PATH=")
    found = [
        f"{folder}/{tool}"
        for folder in path.split(":")
        for tool in BUILD_TOOLS
        if (root / folder.lstrip("/") / tool).exists()
    ]
    sources = [path for path in (root / "app").rglob("*.py") if ".venv" not in path.parts]
    size_mb = int(buildah("images", "--format", "{{.Size}}", "--noheading", IMAGE).split()[0])

    assert found == []
    assert not (root / "src").exists()
    assert not (root / "run" / "secrets").exists()
    assert sources == []
    site_packages = next((root / "app" / ".venv" / "lib").glob("python3*/site-packages"))
    assert (site_packages / "app" / "migrations" / "env.py").is_file()
    assert not (site_packages / "pytest").exists()
    assert size_mb <= MAX_IMAGE_MB


def test_sigterm_stops_the_container_within_shutdown_timeout(served: LiveServer) -> None:
    """What `docker stop` does: SIGTERM to the container's main process."""
    started = time.monotonic()
    os.kill(app_process(served), signal.SIGTERM)
    served.process.wait(timeout=SHUTDOWN_TIMEOUT + 10)

    assert time.monotonic() - started < SHUTDOWN_TIMEOUT
    assert "Application shutdown complete" in served.log()


def app_process(server: LiveServer) -> int:
    """The app's own process: the descendant of `buildah run` (through buildah's chroot
    runtime and exec helpers) that runs `app serve`."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    pending = list(children.get(server.process.pid, []))
    while pending:
        pid = pending.pop()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"serve" in command and not Path(command[0].decode()).name.startswith("buildah"):
            return pid
        pending += children.get(pid, [])
    raise AssertionError(f"no app process under buildah run:\n{server.log()}")


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def passwd_uid(root: Path, user: str) -> int:
    entries = (line.split(":") for line in (root / "etc" / "passwd").read_text().splitlines())
    return next(int(entry[2]) for entry in entries if entry[0] == user)


def run_healthcheck(image: dict[str, Any], container: str, server: LiveServer) -> int:
    """The image's HEALTHCHECK command, run in the container, pointed at the served port."""
    kind, *probe = image["Healthcheck"]["Test"]
    assert kind == "CMD"
    port = server.base_url.rsplit(":", 1)[1]
    probe[-1] = probe[-1].replace("127.0.0.1:8000/", f"127.0.0.1:{port}/")
    return run_in(container, *probe)


def run_in(container: str, *command: str, **environment: str) -> int:
    """`command` run in the container (another process beside the served one)."""
    run = in_container(container, list(command), environment)
    return subprocess.run(run, check=False, timeout=60).returncode


def in_container(container: str, command: list[str], environment: dict[str, str]) -> list[str]:
    """`buildah run` of `command` in the container, on the host's network, with `environment`
    on top of the image's ENV."""
    flags = [flag for item in environment.items() for flag in ("--env", "=".join(item))]
    return [*BUILDAH, "run", "--isolation", "chroot", "--network", "host", *flags, container,
            "--", *command]  # fmt: skip
