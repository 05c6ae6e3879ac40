"""The admin console: who may enter, every change through the services (audited, revoked at
once), CSRF on every write, the idle timeout, signing out."""

import asyncio
import time
import uuid
from datetime import timedelta

import pyotp
from pydantic import SecretStr
from sqlalchemy import select

from app.core.config import Settings
from app.identity.models import Role, User, UserSession
from app.jobs.models import Job, JobState
from app.main import create_app
from tests.audit.conftest import Audited
from tests.conftest import http_client, running_app
from tests.console.conftest import CSRF_COOKIE, Console, signed_in_console
from tests.users.factories import create_user


async def test_a_user_without_a_console_permission_is_refused_and_recorded(
    audited: Audited,
) -> None:
    person = await audited.user()
    refused = await Console(audited.client).login(person.user.email)

    assert refused.status_code == 400
    assert "This account may not use the admin console" in refused.text
    assert "admin" not in audited.client.cookies
    [event] = await audited.events(action="auth.login_failed", subject_id=person.user.id)
    assert event.details["reason"] == "not_console_user"


async def test_a_wrong_password_is_refused_and_recorded(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    refused = await Console(audited.client).login(admin.user.email, "not the password")

    assert refused.status_code == 400
    assert "Wrong email or password" in refused.text
    [event] = await audited.events(action="auth.login_failed", subject_id=admin.user.id)
    assert event.details["reason"] == "wrong_password"


async def test_an_account_with_a_second_factor_needs_its_code(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    started = await audited.client.post("/api/v1/auth/2fa/totp", headers=admin.headers)
    totp = pyotp.TOTP(started.json()["secret"])
    confirm = {"code": totp.now()}
    await audited.client.post("/api/v1/auth/2fa/totp/confirm", headers=admin.headers, json=confirm)
    console = Console(audited.client)

    without = await console.login(admin.user.email)
    wrong = await console.login(admin.user.email, code=totp.at(time.time() + 600))
    signed_in = await console.login(admin.user.email, code=totp.at(time.time() + 30))

    assert without.status_code == wrong.status_code == 400
    assert "Enter the current code from your authenticator app" in wrong.text
    assert signed_in.status_code == 303, signed_in.text
    assert len(await audited.events(action="auth.mfa_failed", subject_id=admin.user.id)) == 2
    *_, event = await audited.events(action="auth.login", subject_id=admin.user.id)
    assert event.details == {"second_factor": "totp"}


async def test_a_role_that_needs_a_second_factor_cannot_enter_without_one(
    audited: Audited,
) -> None:
    admin = await audited.user(is_superuser=True)
    settings = audited.app.state.settings
    audited.app.state.settings = settings.model_copy(update={"require_2fa_roles": ["admin"]})

    refused = await Console(audited.client).login(admin.user.email)

    assert refused.status_code == 400
    assert "Your role needs a second factor" in refused.text
    [event] = await audited.events(action="auth.login_failed", subject_id=admin.user.id)
    assert event.details["reason"] == "second_factor_required"


async def test_the_console_cookie_is_http_only_and_strict(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    signed_in = await Console(audited.client).login(admin.user.email)

    cookie = signed_in.headers["set-cookie"].lower()
    assert cookie.startswith("admin=")
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/admin" in cookie
    assert signed_in.headers["location"] == "http://test/admin/"
    *_, event = await audited.events(action="auth.login", subject_id=admin.user.id)
    assert event.target_type == "session"


async def test_deactivating_a_user_ends_their_token_at_once(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    person = await audited.user()
    console = await signed_in_console(audited, admin)
    assert (await audited.client.get("/api/v1/users/me", headers=person.headers)).status_code == 200

    done = await console.row_action("users", "deactivate", person.user.id)

    assert done.status_code == 200, done.text
    assert done.json() == {"redirect": "http://test/admin/users/list"}
    assert (await audited.client.get("/api/v1/users/me", headers=person.headers)).status_code == 401
    [event] = await audited.events(action="user.deactivated", subject_id=person.user.id)
    assert event.actor_id == admin.user.id
    assert event.user_agent is not None


async def test_a_row_action_without_its_csrf_token_changes_nothing(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    person = await audited.user()
    console = await signed_in_console(audited, admin)

    forged = await console.row_action("users", "deactivate", person.user.id, csrf=False)

    assert forged.status_code == 403
    assert (await audited.client.get("/api/v1/users/me", headers=person.headers)).status_code == 200
    assert await audited.events(action="user.deactivated", subject_id=person.user.id) == []


async def test_a_refused_change_is_shown_and_rolled_back(audited: Audited) -> None:
    """The last administrator keeps the role: the service's rule, told in the page."""
    admin = await audited.user(is_superuser=True)
    console = await signed_in_console(audited, admin)
    async with audited.app.state.sessionmaker() as session:
        others = select(User).where(User.id != admin.user.id)
        for other in await session.scalars(others):
            other.is_active = False
        await session.commit()
        admin_role = await session.scalar(select(Role).where(Role.name == "admin"))
    assert admin_role is not None

    refused = await console.row_action(
        "users", "revoke_role", admin.user.id, role=str(admin_role.id)
    )

    assert refused.status_code == 400
    assert refused.json()["msg"]
    assert await audited.events(action="role.revoked", subject_id=admin.user.id) == []


async def test_granting_and_taking_back_a_role(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    person = await audited.user()
    console = await signed_in_console(audited, admin)
    async with audited.app.state.sessionmaker() as session:
        admin_role = await session.scalar(select(Role).where(Role.name == "admin"))
    assert admin_role is not None

    granted = await console.row_action(
        "users", "grant_role", person.user.id, role=str(admin_role.id)
    )
    assert granted.status_code == 200, granted.text
    assert (await audited.client.get("/api/v1/users", headers=person.headers)).status_code == 200
    taken = await console.row_action(
        "users", "revoke_role", person.user.id, role=str(admin_role.id)
    )
    assert taken.status_code == 200, taken.text
    assert (await audited.client.get("/api/v1/users", headers=person.headers)).status_code == 403

    actions = [event.action for event in await audited.events(subject_id=person.user.id)]
    assert actions[-2:] == ["role.granted", "role.revoked"]


async def test_revoking_a_session(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    person = await audited.user()
    console = await signed_in_console(audited, admin)
    async with audited.app.state.sessionmaker() as session:
        [their_session] = await session.scalars(
            select(UserSession).where(UserSession.user_id == person.user.id)
        )

    done = await console.row_action("sessions", "revoke", their_session.id)

    assert done.status_code == 200, done.text
    assert (await audited.client.get("/api/v1/users/me", headers=person.headers)).status_code == 401
    [event] = await audited.events(action="session.revoked", subject_id=person.user.id)
    assert event.actor_id == admin.user.id


async def test_retrying_a_dead_job(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    console = await signed_in_console(audited, admin)
    async with audited.app.state.sessionmaker() as session:
        job = Job(
            name="console.test",
            queue="console-test",
            payload={},
            state=JobState.DEAD,
            max_attempts=1,
            attempts=1,
        )
        session.add(job)
        await session.commit()

    done = await console.row_action("jobs", "retry", job.id)
    again = await console.row_action("jobs", "retry", job.id)

    assert done.status_code == 200, done.text
    assert again.status_code == 400, "a ready job offers no retry"
    [event] = await audited.events(action="job.retried")
    assert (event.actor_id, event.target_id) == (admin.user.id, str(job.id))


async def test_each_page_needs_its_own_permission(audited: Audited) -> None:
    """An auditor enters and reads the audit log; the users' pages are not theirs."""
    admin = await audited.user(is_superuser=True)
    auditor = await audited.user()
    made = await audited.client.post(
        "/api/v1/roles",
        json={"name": f"auditor-{uuid.uuid4().hex[:6]}", "permissions": ["audit:read"]},
        headers=admin.headers,
    )
    role_id = made.json()["id"]
    granted = await audited.client.put(
        f"/api/v1/users/{auditor.user.id}/roles/{role_id}", headers=admin.headers
    )
    assert granted.status_code == 204, granted.text
    console = await signed_in_console(audited, auditor)

    assert (await audited.client.get("/admin/audit-events/list")).status_code == 200
    assert (await audited.client.get("/admin/users/list")).status_code == 403
    refused = await console.row_action("users", "deactivate", admin.user.id)
    assert refused.status_code in (400, 403)
    assert await audited.events(action="user.deactivated", subject_id=admin.user.id) == []


async def test_signing_out_ends_the_console_session(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    await signed_in_console(audited, admin)
    page = await audited.client.get("/admin/users/list")
    assert page.status_code == 200
    cookie = audited.client.cookies["admin"]

    out = await audited.client.post(
        "/admin/logout", data={"csrftoken": audited.client.cookies[CSRF_COOKIE]}
    )

    assert out.status_code == 303
    audited.client.cookies.set("admin", cookie, path="/admin")
    assert (await audited.client.get("/admin/users/list")).status_code == 303
    [event] = await audited.events(action="auth.logout", subject_id=admin.user.id)
    assert event.actor_id == admin.user.id


async def test_an_idle_console_session_ends(settings: Settings, migrated: str) -> None:
    idle = {"database_url": migrated, "admin_idle_timeout": timedelta(seconds=1)}
    async with running_app(settings.model_copy(update=idle)) as app, http_client(app) as client:
        async with app.state.sessionmaker() as session:
            admin = await create_user(session, is_superuser=True)
        console = Console(client)
        assert (await console.login(admin.email)).status_code == 303
        assert (await client.get("/admin/users/list")).status_code == 200

        await asyncio.sleep(1.2)

        expired = await client.get("/admin/users/list")
        assert expired.status_code == 303
        assert expired.headers["location"].startswith("http://test/admin/login")


def test_production_serves_no_console_until_enabled(settings: Settings) -> None:
    production = settings.model_copy(
        update={"environment": "production", "secret_key": SecretStr(uuid.uuid4().hex * 2)}
    )

    def mounted(app_settings: Settings) -> bool:
        return any(
            getattr(route, "path", "") == "/admin" for route in create_app(app_settings).routes
        )

    assert not mounted(production)
    assert mounted(production.model_copy(update={"admin_enabled": True}))
