"""A few-second smoke run of the benchmark runner (`python -m bench`): it seeds, serves both
apps, drives wrk and writes its report. The performance targets are never asserted here."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO_ROOT

SERVER = os.environ.get("TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not SERVER or shutil.which("wrk") is None,
    reason="needs PostgreSQL (TEST_DATABASE_URL) and wrk",
)


def test_runner_writes_a_report(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench", "--server", SERVER.replace("+asyncpg", "")]
    command += ["--scenarios", "users_me,update_item", "--connections", "4", "--duration", "1"]
    command += ["--warmup", "1", "--repeats", "1", "--items", "100", "--output", str(tmp_path)]
    command += ["--name", "smoke"]

    finished = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    runs = orjson.loads((tmp_path / "smoke.json").read_bytes())
    assert {(run["app"], run["scenario"]) for run in runs} == {
        (app, scenario) for app in ("app", "floor") for scenario in ("users_me", "update_item")
    }
    for run in runs:
        assert run["requests"] > 0, run
        assert run["socket_errors"] == 0, run
        assert set(run["statuses"]) == {"200"}, run
        if run["app"] == "app":  # its own access log: every request wrk sent, answered
            assert set(run["served"]) == {"200"}, run
            assert run["served"]["200"] >= run["requests"], run
    report = (tmp_path / "smoke.md").read_text()
    assert "| GET /users/me | 4 |" in report
    assert "| PATCH /items/{id} + If-Match | 4 |" in report
    assert "## Every request answered" in report
    assert (tmp_path / "smoke.png").read_bytes().startswith(b"\x89PNG")


def test_layers_prints_each_layer() -> None:
    command = [sys.executable, "-m", "bench.layers", "--requests", "20"]
    command += ["--server", SERVER.replace("+asyncpg", "")]

    finished = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    assert len(lines) == 9, finished.stdout
    assert all(line.split()[1] == "µs" and float(line.split()[0]) > 0 for line in lines)
    assert lines[-2].endswith("GET /users/me as served")
    assert lines[-1].endswith("GET /users/me with an API key instead of the session's token")


def test_jobs_bench_prints_each_figure() -> None:
    command = [sys.executable, "-m", "bench.jobs", "--server", SERVER.replace("+asyncpg", "")]
    command += ["--jobs", "200", "--processes", "1,2", "--rounds", "1", "--delays", "10"]
    command += ["--requests", "20"]

    finished = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    assert len(lines) == 4, finished.stdout
    assert lines[0].startswith("POST /items, CPU per request: no endpoint ")
    assert lines[1].startswith("1 worker process: ")
    assert lines[2].startswith("2 worker processes: ")
    assert lines[3].startswith("commit to start, 1 idle worker: p50 ")


def test_audit_bench_prints_each_route() -> None:
    command = [sys.executable, "-m", "bench.audit", "--server", SERVER.replace("+asyncpg", "")]
    command += ["--requests", "20", "--rounds", "1"]

    finished = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = [line.split() for line in finished.stdout.splitlines()]
    assert [line[:2] for line in lines] == [["POST", "/auth/login"], ["PATCH", "/users/{id}"]]
    assert all(float(line[2]) > 0 and line[3] == "µs" for line in lines)
