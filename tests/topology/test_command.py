"""`python -m topology deployment -- <command>`: a person's way to try the deployment. The
command runs with the balancer's address beside every host, and its exit code is passed on."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from topology.deployment import available


def test_a_command_runs_beside_the_deployment() -> None:
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    command = 'curl -sS "$LB_URL/health/ready"; exit 3'
    finished = subprocess.run(
        [sys.executable, "-m", "topology", "deployment", "--apps", "1", "--", "sh", "-c", command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 3, finished.stderr
    assert json.loads(finished.stdout)["checks"]["database"] == "ok"
