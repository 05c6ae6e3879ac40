"""`/api/v1/jobs` for operators: list with filters, read, retry a dead or cancelled job,
cancel a ready one; `jobs:admin` only."""

import uuid

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.jobs.models import Job, JobState
from tests.users.factories import signed_in

JOBS = "/api/v1/jobs"


async def stored(session: AsyncSession, name: str, state: JobState, **fields: object) -> Job:
    job = Job(name=name, queue="default", payload={"secret": "x"}, max_attempts=3, state=state)
    for field, value in fields.items():
        setattr(job, field, value)
    session.add(job)
    await session.flush()
    return job


async def test_operators_list_jobs_by_state_and_name_without_payloads(
    client: AsyncClient, session: AsyncSession
) -> None:
    _admin, headers = await signed_in(client, session, is_superuser=True)
    dead = await stored(session, "reports.build", JobState.DEAD, last_error="OSError: disk full")
    await stored(session, "reports.build", JobState.READY)
    await stored(session, "mail.send", JobState.DEAD)

    listed = await client.get(
        JOBS, params={"state": "dead", "name": "reports.build"}, headers=headers
    )
    read = await client.get(f"{JOBS}/{dead.id}", headers=headers)
    missing = await client.get(f"{JOBS}/{uuid.uuid4()}", headers=headers)
    bad = await client.get(JOBS, params={"state": "lost"}, headers=headers)

    assert listed.status_code == 200
    assert [job["id"] for job in listed.json()["items"]] == [str(dead.id)]
    assert listed.json()["total"] == 1
    assert read.json()["last_error"] == "OSError: disk full"
    assert "payload" not in read.json()
    assert (missing.status_code, missing.json()["detail"]) == (404, "Job not found")
    assert (bad.status_code, bad.json()["error_code"]) == (422, "VALIDATION_ERROR")


async def test_a_dead_job_is_retried_with_all_its_attempts_and_a_ready_one_cancelled(
    client: AsyncClient, session: AsyncSession
) -> None:
    _admin, headers = await signed_in(client, session, is_superuser=True)
    dead = await stored(session, "reports.build", JobState.DEAD, attempts=3, finished_at=utcnow())
    ready = await stored(session, "reports.build", JobState.READY)

    retried = await client.post(f"{JOBS}/{dead.id}/retry", headers=headers)
    again = await client.post(f"{JOBS}/{dead.id}/retry", headers=headers)
    cancelled = await client.post(f"{JOBS}/{ready.id}/cancel", headers=headers)
    twice = await client.post(f"{JOBS}/{ready.id}/cancel", headers=headers)

    assert retried.status_code == 200
    assert (retried.json()["state"], retried.json()["attempts"]) == ("ready", 0)
    assert retried.json()["finished_at"] is None
    assert (again.status_code, again.json()["error_code"]) == (409, "CONFLICT")
    assert (
        again.json()["detail"] == "Only a dead or cancelled job can be retried; this one is ready"
    )
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["finished_at"] is not None
    assert (twice.status_code, twice.json()["error_code"]) == (409, "CONFLICT")


async def test_a_retry_is_refused_while_a_ready_job_holds_its_key(
    client: AsyncClient, session: AsyncSession
) -> None:
    _admin, headers = await signed_in(client, session, is_superuser=True)
    dead = await stored(session, "reports.build", JobState.DEAD, key="report:1")
    await stored(session, "reports.build", JobState.READY, key="report:1")

    response = await client.post(f"{JOBS}/{dead.id}/retry", headers=headers)

    assert (response.status_code, response.json()["error_code"]) == (409, "ALREADY_EXISTS")


async def test_jobs_are_for_operators_only(client: AsyncClient, session: AsyncSession) -> None:
    _user, headers = await signed_in(client, session)

    response = await client.get(JOBS, headers=headers)

    assert (response.status_code, response.json()["detail"]) == (
        403,
        "Missing permission: jobs:admin",
    )
