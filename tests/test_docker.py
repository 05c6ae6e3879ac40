"""The Dockerfile, .dockerignore and compose.yaml, read as files: the promises a build cannot
show (the dependency layer built from pyproject.toml and uv.lock alone, which paths never reach
the build context, how compose wires the services). `tests/test_container.py` builds and runs
the image itself.
"""

import json
import re
import shlex

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints

from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
IMAGE_VENV = "/app/.venv"
IMAGE_PORT = "8000"
# The container listens on every interface.
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
