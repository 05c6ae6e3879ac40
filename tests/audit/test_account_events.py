"""Every change to an account's security is recorded with its holder as actor and subject:
registering, verifying the address, changing the password, changing the address, resetting
the password; and what administrators do to users, their roles and keys."""

import uuid

from tests.audit.conftest import Audited
from tests.mail import Mailbox, token_in
from tests.users.factories import DEFAULT_PASSWORD, bearer, login, unique_email

NEW_PASSWORD = "a brand new passphrase"


async def test_an_accounts_life_is_recorded_step_by_step(
    audited: Audited, mailbox: Mailbox
) -> None:
    client = audited.client
    email, new_email = unique_email(), unique_email()
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    (verification,) = await mailbox.wait_for(email)
    await client.post("/api/v1/auth/verify-email", json={"token": token_in(verification)})
    headers = bearer(await login(client, email))
    await client.post(
        "/api/v1/auth/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    await client.post(
        "/api/v1/users/me/email",
        json={"new_email": new_email, "current_password": NEW_PASSWORD},
        headers=headers,
    )
    (confirmation,) = await mailbox.wait_for(new_email)
    changed = await client.post(
        "/api/v1/auth/email-change/confirm", json={"token": token_in(confirmation)}
    )
    await client.post("/api/v1/auth/password-reset", json={"email": new_email})
    reset_mail = (await mailbox.wait_for(new_email, count=2))[1]
    reset = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token_in(reset_mail), "new_password": DEFAULT_PASSWORD},
    )

    user_id = uuid.UUID(registered.json()["id"])
    events = await audited.events(subject_id=user_id)
    assert (changed.status_code, reset.status_code) == (204, 204)
    assert [event.action for event in events] == [
        "auth.registered",
        "account.email_verified",
        "auth.login",
        "account.password_changed",
        "account.email_change_requested",
        "account.email_changed",
        "account.password_reset",
    ]
    assert all(event.actor_id == user_id for event in events)
    by_action = {event.action: event for event in events}
    assert by_action["account.email_changed"].details == {
        "old_email": email,
        "new_email": new_email,
    }
    assert NEW_PASSWORD not in str([event.details for event in events])


async def test_what_administrators_do_to_users_is_recorded(audited: Audited) -> None:
    admin = await audited.user(is_superuser=True)
    person = await audited.user()
    roles = await audited.client.get("/api/v1/roles", headers=admin.headers)
    admin_role = next(role["id"] for role in roles.json() if role["name"] == "admin")
    role_url = f"/api/v1/users/{person.user.id}/roles/{admin_role}"
    key = await audited.client.post(
        "/api/v1/auth/api-keys",
        json={"name": "ci", "scopes": ["items:read"], "current_password": DEFAULT_PASSWORD},
        headers=person.headers,
    )

    await audited.client.put(role_url, headers=admin.headers)
    await audited.client.delete(role_url, headers=admin.headers)
    await audited.client.delete(
        f"/api/v1/users/{person.user.id}/api-keys/{key.json()['id']}", headers=admin.headers
    )
    await audited.client.patch(
        f"/api/v1/users/{person.user.id}",
        json={"full_name": "Ada", "is_active": False},
        headers=admin.headers,
    )
    await audited.client.delete(f"/api/v1/users/{person.user.id}", headers=admin.headers)

    events = await audited.events(subject_id=person.user.id)
    assert key.status_code == 201
    assert [(event.action, event.actor_id) for event in events] == [
        ("auth.login", person.user.id),
        ("api_key.created", person.user.id),
        ("role.granted", admin.user.id),
        ("role.revoked", admin.user.id),
        ("api_key.revoked", admin.user.id),
        ("user.updated", admin.user.id),
        ("user.deactivated", admin.user.id),
        ("user.deleted", admin.user.id),
    ]
    by_action = {event.action: event for event in events}
    assert by_action["api_key.created"].details == {"name": "ci", "scopes": ["items:read"]}
    assert by_action["role.granted"].details == {"name": "admin"}
    assert by_action["user.updated"].details == {"changed": ["full_name", "is_active"]}
    assert by_action["user.deleted"].target_id == str(person.user.id)
