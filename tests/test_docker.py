"""The Dockerfile and compose.yaml, checked without a Docker engine (none runs in CI).

The image's promises are read from the files (multi-stage, non-root, health check, compose waits
for healthy services), and the build is replayed outside Docker: the build context is assembled
by the .dockerignore rules, the build stage's COPY and RUN steps run in order with its ENV (so the
dependency layer is shown to build from pyproject.toml and uv.lock alone), then the runtime
stage's CMD starts with only the runtime ENV in an empty folder, where the HEALTHCHECK command
itself must pass and the database must be migrated to head.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from itertools import dropwhile
from pathlib import Path

import httpx
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

from tests.conftest import REPO_ROOT
from tests.live import LiveServer, free_port
from tests.secrets_scan import find_secrets

DOCKERFILE = REPO_ROOT / "Dockerfile"
IMAGE_VENV = "/app/.venv"
IMAGE_PORT = "8000"
STARTUP_SECONDS = 30
# The container listens on every interface; the replay binds loopback only.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

Instruction = tuple[str, str]
# (re-includes, pattern) for each .dockerignore line.
IgnoreRule = tuple[bool, re.Pattern[str]]


def instructions() -> list[Instruction]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.split(maxsplit=1) for line in lines if line and not line.startswith("#")]
    return [(pair[0].upper(), pair[1]) for pair in pairs]


def stages() -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction, arguments in instructions():
        if instruction == "FROM":
            found.append([])
        found[-1].append((instruction, arguments))
    return found


def arguments_of(stage: list[Instruction], name: str) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == name]


def exec_form(arguments: str) -> list[str]:
    """The JSON array of a CMD or HEALTHCHECK CMD."""
    command: list[str] = json.loads(arguments[arguments.index("[") :])
    return command


def environment_of(stage: list[Instruction]) -> dict[str, str]:
    """The stage's ENV key=value pairs."""
    items = [item for arguments in arguments_of(stage, "ENV") for item in shlex.split(arguments)]
    return {key: value for key, _, value in (item.partition("=") for item in items)}


def dockerignore_rules() -> list[IgnoreRule]:
    lines = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    return [
        (line.startswith("!"), glob_regex(line.removeprefix("!").strip("/"))) for line in patterns
    ]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax: `*`, `?` and `[...]` stay within one path element, `**` spans
    any number of them."""
    tokens = re.split(r"(\*\*/|\*\*|\*|\?|\[[^\]]*\])", pattern)
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile(
        "".join(
            wildcards.get(token, token if token.startswith("[") else re.escape(token))
            for token in tokens
        )
    )


def ignored(relative: str, rules: list[IgnoreRule]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = relative.split("/")
    paths = ["/".join(parts[: depth + 1]) for depth in range(len(parts))]
    verdict = False
    for reincludes, pattern in rules:
        if any(pattern.fullmatch(path) for path in paths):
            verdict = not reincludes
    return verdict


def build_context(target: Path) -> None:
    """Copies what `docker build .` sends: the repository minus what .dockerignore excludes."""
    rules = dockerignore_rules()
    for folder, subfolders, files in os.walk(REPO_ROOT):
        relative = Path(folder).relative_to(REPO_ROOT)
        # Ignored folders are not walked (.git, .venv, node_modules): the file re-includes whole
        # top-level names only, so nothing inside them comes back. If that changes, a COPY source
        # goes missing here and the replay fails loudly.
        subfolders[:] = [name for name in subfolders if not ignored(f"{relative / name}", rules)]
        for name in files:
            if not ignored(f"{relative / name}", rules):
                (target / relative).mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(folder) / name, target / relative / name)


def replay_copy(arguments: str, context: Path, workdir: Path) -> None:
    *sources, destination = shlex.split(arguments)
    target = workdir / destination
    for source in sources:
        origin = context / source
        assert origin.exists(), f"COPY {source}: not in the build context (see .dockerignore)"
        if origin.is_dir():
            shutil.copytree(origin, target, dirs_exist_ok=True)
        elif destination.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / origin.name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)


def run_command(arguments: str) -> list[str]:
    """A RUN line as argv without BuildKit's `--mount` options, run by this machine's uv."""
    words = list(dropwhile(lambda word: word.startswith("--mount="), shlex.split(arguments)))
    assert words[0] == "uv", f"the build stage runs uv only, not {words}"
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` exports its own path as UV
    assert uv is not None, "uv is needed to replay the build"
    return [uv, *words[1:]]


def replay_build_stage(context: Path, workdir: Path, venv: Path) -> None:
    """The build stage's COPY and RUN steps in their order, so the dependency layer's `uv sync`
    sees only the files copied before it."""
    build = stages()[0]
    environment = {**os.environ, **environment_of(build), "UV_PROJECT_ENVIRONMENT": str(venv)}
    environment.pop("VIRTUAL_ENV", None)  # `uv run` sets it for the test process, not the build
    for instruction, arguments in build:
        if instruction == "COPY" and not arguments.startswith("--from="):
            replay_copy(arguments, context, workdir)
        elif instruction == "RUN":
            subprocess.run(run_command(arguments), cwd=workdir, env=environment, check=True)


def container_environment(venv: Path, folder: Path, database_url: str) -> dict[str, str]:
    """Only what the container would have: the runtime stage's ENV (the venv where the replay
    put it) and compose's variables, pointed at this machine's database and at no Redis (the
    app then keeps its rate limits in memory)."""
    image = {
        key: value.replace(IMAGE_VENV, str(venv)).replace("$PATH", os.environ["PATH"])
        for key, value in environment_of(stages()[-1]).items()
    }
    compose = {
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "SECRET_KEY": "image-replay-secret-key-not-the-default",
        # Production mode refuses printed mail; nothing listens on the discard port.
        "EMAIL_BACKEND": "smtp",
        "SMTP_PORT": "9",
        "SMTP_STARTTLS": "false",
    }
    # Docker takes HOME from the user's passwd entry, /app, the image's working folder.
    return {**image, **compose, "HOME": str(folder)}


def on_port(command: list[str], port: int) -> list[str]:
    """The image's CMD on loopback and a free port instead of 0.0.0.0:8000."""
    replacements = {ALL_INTERFACES: "127.0.0.1", IMAGE_PORT: str(port)}
    return [replacements.get(word, word) for word in command]


def on_image_path(program: str, venv: Path, environment: dict[str, str]) -> str:
    """`program` found as the image finds it, through its PATH; it must be the venv's."""
    executable = shutil.which(program, path=environment["PATH"])
    assert executable is not None, program
    assert executable.startswith(str(venv)), executable
    return executable


def start_image_cmd(
    venv: Path, folder: Path, environment: dict[str, str], *, port: int
) -> LiveServer:
    command = on_port(exec_form(dict(stages()[-1])["CMD"]), port)
    log_path = folder.parent / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [on_image_path(command[0], venv, environment), *command[1:]],
            cwd=folder,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LiveServer(f"http://127.0.0.1:{port}", process, log_path)


def wait_until_listening(server: LiveServer) -> None:
    """Liveness, not readiness: the HEALTHCHECK command itself has to find the app ready."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"the installed app exited:\n{server.log()}"
        try:
            httpx.get(f"{server.base_url}/health/live", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the installed app did not start:\n{server.log()}")


def run_healthcheck(port: int, venv: Path, environment: dict[str, str]) -> int:
    probe = exec_form(dict(stages()[-1])["HEALTHCHECK"])
    probe[0] = on_image_path(probe[0], venv, environment)
    url = f"127.0.0.1:{IMAGE_PORT}/"
    assert url in probe[-1]
    probe[-1] = probe[-1].replace(url, f"127.0.0.1:{port}/")
    return subprocess.run(probe, env=environment, check=False).returncode


class TestDockerfile:
    def test_runtime_stage_has_no_build_tools_and_no_root(self) -> None:
        build, runtime = stages()
        runtime_text = " ".join(arguments for _, arguments in runtime)

        assert build[0][1].endswith("AS build")
        assert arguments_of(runtime, "USER") == ["app"]
        assert "uv" not in runtime_text.split()
        assert arguments_of(runtime, "COPY") == [f"--from=build {IMAGE_VENV} {IMAGE_VENV}"]

    def test_uv_is_pinned_and_dependencies_are_a_layer_of_their_own(self) -> None:
        build = stages()[0]
        before_first_run = build[: build.index(next(step for step in build if step[0] == "RUN"))]

        assert re.fullmatch(
            r"--from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ /uv /uvx /bin/",
            arguments_of(build, "COPY")[0],
        )
        assert arguments_of(before_first_run, "COPY")[1:] == ["pyproject.toml uv.lock ./"]
        assert "--no-install-project" in arguments_of(build, "RUN")[0]

    def test_venv_built_is_the_venv_copied_and_on_path(self) -> None:
        build, runtime = stages()

        assert environment_of(build)["UV_PROJECT_ENVIRONMENT"] == IMAGE_VENV
        assert environment_of(runtime)["PATH"].startswith(f"{IMAGE_VENV}/bin:")

    def test_healthcheck_probes_readiness_and_cmd_serves_on_all_interfaces(self) -> None:
        runtime = dict(stages()[-1])

        probe = exec_form(runtime["HEALTHCHECK"])
        assert probe[:2] == ["python", "-c"]
        assert f"http://127.0.0.1:{IMAGE_PORT}/health/ready" in probe[-1]
        assert exec_form(runtime["CMD"]) == [
            "app",
            "serve",
            "--host",
            ALL_INTERFACES,
            "--port",
            IMAGE_PORT,
        ]
        assert arguments_of(stages()[-1], "EXPOSE") == [IMAGE_PORT]


class TestDockerignore:
    def test_sends_the_project_sources(self) -> None:
        rules = dockerignore_rules()

        for path in ("pyproject.toml", "uv.lock", "README.md", "src/app/main.py"):
            assert not ignored(path, rules), path

    def test_keeps_secrets_local_state_and_caches_out(self) -> None:
        rules = dockerignore_rules()

        for path in (
            ".env",
            ".git/HEAD",
            ".venv/bin/python",
            "data/app.db",
            "tests/conftest.py",
            "clients/typescript/node_modules/x.js",
            "src/app/__pycache__/main.cpython-311.pyc",
            "src/app/main.pyc",
        ):
            assert ignored(path, rules), path


class TestCompose:
    def test_app_waits_for_healthy_postgres_and_redis(self) -> None:
        services = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())["services"]
        app = services["app"]

        assert app["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
        assert services["db"]["healthcheck"]["test"][0] == "CMD-SHELL"
        assert "pg_isready" in services["db"]["healthcheck"]["test"][1]
        assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
        assert app["ports"] == [f"{IMAGE_PORT}:{IMAGE_PORT}"]
        assert app["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert app["environment"]["DATABASE_URL"].endswith("@db:5432/app")
        assert app["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        # No secret is committed: compose refuses to start without one.
        assert app["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")


def installed_packages(venv: Path) -> Path:
    """The venv's site-packages, asked of its own interpreter (its version is the build's)."""
    purelib = subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(purelib)


def test_build_steps_produce_an_image_that_migrates_serves_and_passes_its_healthcheck(
    tmp_path: Path, fresh_database_url: str
) -> None:
    context, workdir, venv, folder = (tmp_path / name for name in ("context", "src", "venv", "app"))
    build_context(context)
    replay_build_stage(context, workdir, venv)
    folder.mkdir()
    environment = container_environment(venv, folder, fresh_database_url)

    port = free_port()
    server = start_image_cmd(venv, folder, environment, port=port)
    try:
        wait_until_listening(server)
        healthcheck = run_healthcheck(port, venv, environment)
        # `app db check` fails unless the schema `serve` migrated matches the installed models.
        check = [on_image_path("app", venv, environment), "db", "check"]
        migrated = subprocess.run(check, cwd=folder, env=environment, check=False)
    finally:
        server.kill()

    assert healthcheck == 0, server.log()
    assert migrated.returncode == 0, server.log()
    assert not find_secrets(server.log())
    site_packages = installed_packages(venv)
    # Non-editable: the migrations ship inside the installed package, and no dev tools came along.
    assert (site_packages / "app" / "migrations" / "env.py").is_file()
    assert not (site_packages / "pytest").exists()
