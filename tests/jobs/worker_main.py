"""`app worker` with the tests' job types: `python -m tests.jobs.worker_main [options]`."""

import sys

import app.job_types
from app.cli import cli
from tests.jobs.types import TEST_TYPES

app.job_types.JOB_TYPES = (*app.job_types.JOB_TYPES, *TEST_TYPES)

if __name__ == "__main__":
    cli(["worker", *sys.argv[1:]])
