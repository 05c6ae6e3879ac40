"""The log is append-only in the database itself, kept for AUDIT_RETENTION, and read by
operators (`audit:read`) and, for their own events, by each person."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from app.audit.dependencies import build_audit_service
from app.auth.audit import LOGIN
from app.core.models import utcnow
from app.identity.dependencies import build_audit_log
from app.identity.models import AuditEvent
from app.job_types import job_registry
from tests.assertions import assert_error
from tests.audit.conftest import Audited
from tests.users.factories import DEFAULT_PASSWORD

EVENTS = "/api/v1/audit-events"
MINE = "/api/v1/users/me/security-events"


async def test_the_database_refuses_to_change_or_delete_an_event(audited: Audited) -> None:
    await audited.user()
    engine = audited.app.state.engine

    for statement in (update(AuditEvent).values(action="auth.logout"), delete(AuditEvent)):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(statement)

    assert len(await audited.events(action="auth.login")) == 1


async def test_retention_purges_only_what_is_older(audited: Audited) -> None:
    settings = audited.app.state.settings
    recent = await audited.user()
    long_ago = utcnow() - settings.audit_retention - timedelta(days=1)
    async with audited.app.state.sessionmaker.begin() as session:
        await build_audit_log(session, clock=lambda: long_ago).record(LOGIN, subject_id=None)

    async with audited.app.state.sessionmaker.begin() as session:
        purged = await build_audit_service(session, settings).purge_expired()

    assert purged == 1
    assert [event.subject_id for event in await audited.events()] == [recent.user.id]
    assert "audit.purge" in {schedule.name for schedule in job_registry(settings).schedules}


async def test_operators_read_the_log_by_filters_and_cursor(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    person = await audited.user()
    for _ in range(2):
        body = {"email": person.user.email, "password": DEFAULT_PASSWORD}
        await audited.client.post("/api/v1/auth/login", json=body)

    refused = await audited.client.get(EVENTS, headers=person.headers)
    params: dict[str, str | int] = {"action": "auth.login", "actor_id": str(person.user.id)}
    params["limit"] = 2
    first = await audited.client.get(EVENTS, params=params, headers=admin.headers)
    cursor = first.json()["next_cursor"]
    second = await audited.client.get(
        EVENTS, params={**params, "cursor": cursor}, headers=admin.headers
    )
    everything = await audited.client.get(EVENTS, headers=admin.headers)

    assert_error(refused, 403, "PERMISSION_DENIED")
    assert [event["action"] for event in first.json()["items"]] == ["auth.login"] * 2
    assert len(second.json()["items"]) == 1
    assert second.json()["next_cursor"] is None
    seen = [event["id"] for event in first.json()["items"] + second.json()["items"]]
    assert len(set(seen)) == 3
    newest_first = [event["at"] for event in everything.json()["items"]]
    assert newest_first == sorted(newest_first, reverse=True)
    assert everything.json()["total"] == 4


async def test_a_person_sees_their_own_security_events_and_who_did_them(
    audited: Audited,
) -> None:
    person = await audited.user()
    other = await audited.user()
    await audited.client.post(
        "/api/v1/auth/login", json={"email": person.user.email, "password": "a stranger's guess"}
    )

    mine = await audited.client.get(MINE, headers=person.headers)
    theirs = await audited.client.get(MINE, headers=other.headers)

    assert mine.status_code == 200
    shown = [(event["action"], event["by_you"]) for event in mine.json()["items"]]
    assert shown == [("auth.login_failed", False), ("auth.login", True)]
    assert mine.json()["items"][0]["ip"] == "127.0.0.1"
    assert [event["action"] for event in theirs.json()["items"]] == ["auth.login"]
