"""Audit events are written in the unit of work of what they record: sign-ins, refused
sign-ins (kept although their request fails), sign-outs and revoked sessions; a change that
rolls back leaves no event."""

import uuid

from app.auth.audit import LOGIN
from app.core.errors import ConflictError
from app.identity.dependencies import AuditLogDep
from app.identity.service import Target
from tests.audit.conftest import Audited
from tests.users.factories import DEFAULT_PASSWORD, create_user, unique_email

LOGIN_URL = "/api/v1/auth/login"


async def test_a_sign_in_is_recorded_with_where_it_came_from(audited: Audited) -> None:
    owner = await audited.user()

    response = await audited.client.post(
        LOGIN_URL,
        json={"email": owner.user.email, "password": DEFAULT_PASSWORD},
        headers={"user-agent": "Firefox/140", "x-request-id": str(uuid.uuid4())},
    )
    events = await audited.events(action="auth.login", actor_id=owner.user.id)

    assert response.status_code == 200
    # Two sign-ins: the fixture's, and this one.
    assert len(events) == 2
    event = events[-1]
    assert event.subject_id == owner.user.id
    assert event.target_type == "session"
    assert (event.ip, event.user_agent) == ("127.0.0.1", "Firefox/140")
    assert event.request_id == response.headers["x-request-id"]
    assert event.details == {}


async def test_a_refused_sign_in_is_kept_although_its_request_fails(audited: Audited) -> None:
    owner = await audited.user()
    stranger = unique_email()

    wrong = await audited.client.post(
        LOGIN_URL, json={"email": owner.user.email, "password": "not the password at all"}
    )
    unknown = await audited.client.post(
        LOGIN_URL, json={"email": stranger, "password": "not the password at all"}
    )
    refused = await audited.events(action="auth.login_failed")

    assert (wrong.status_code, unknown.status_code) == (401, 401)
    by_email = {event.details["email"]: event for event in refused}
    assert by_email[owner.user.email].subject_id == owner.user.id
    assert by_email[owner.user.email].details["reason"] == "wrong_password"
    assert by_email[stranger].subject_id is None
    assert by_email[stranger].details["reason"] == "unknown_email"
    assert all(event.actor_id is None for event in refused)
    assert "not the password" not in str([event.details for event in refused])


async def test_an_inactive_account_is_refused_and_recorded_as_such(audited: Audited) -> None:
    async with audited.app.state.sessionmaker() as session:
        user = await create_user(session, is_active=False)

    response = await audited.client.post(
        LOGIN_URL, json={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    (event,) = await audited.events(action="auth.login_failed", subject_id=user.id)

    assert response.status_code == 401
    assert event.details["reason"] == "inactive"


async def test_signing_out_and_revoking_sessions_are_recorded(audited: Audited) -> None:
    owner = await audited.user()
    other = await audited.client.post(
        LOGIN_URL, json={"email": owner.user.email, "password": DEFAULT_PASSWORD}
    )
    sessions = await audited.client.get("/api/v1/auth/sessions", headers=owner.headers)
    other_id = next(each["id"] for each in sessions.json() if not each["current"])

    revoked = await audited.client.delete(
        f"/api/v1/auth/sessions/{other_id}", headers=owner.headers
    )
    logged_out = await audited.client.post("/api/v1/auth/logout", headers=owner.headers)
    third = await audited.user(email=unique_email())
    everywhere = await audited.client.post("/api/v1/auth/logout-all", headers=third.headers)

    assert other.status_code == 200
    assert (revoked.status_code, logged_out.status_code, everywhere.status_code) == (204,) * 3
    (revocation,) = await audited.events(action="session.revoked", actor_id=owner.user.id)
    assert revocation.target_id == other_id
    (logout,) = await audited.events(action="auth.logout", actor_id=owner.user.id)
    assert logout.target_type == "session"
    assert logout.target_id != other_id
    (everything,) = await audited.events(action="auth.logout_all", subject_id=third.user.id)
    assert everything.actor_id == third.user.id


async def test_an_event_rolls_back_with_its_change(audited: Audited) -> None:
    async def record_then_fail(audit: AuditLogDep, outcome: str) -> None:
        target = Target("test", outcome)
        await audit.record(LOGIN, target=target)
        if outcome == "refused":
            raise ConflictError("refused after recording")

    audited.app.add_api_route("/record/{outcome}", record_then_fail, methods=["POST"])

    refused = await audited.client.post("/record/refused")
    kept = await audited.client.post("/record/kept")

    assert (refused.status_code, kept.status_code) == (409, 200)
    assert await audited.events(target_type="test", target_id="refused") == []
    assert len(await audited.events(target_type="test", target_id="kept")) == 1
