"""What is done inside an organisation is recorded with the organisation, and its owners
read it (`org_audit:read`); personal webhook endpoints are recorded as their owner's acts."""

from tests.audit.conftest import Audited
from tests.mail import Mailbox, token_in
from tests.orgs.factories import ORGS, new_org
from tests.users.factories import unique_email


async def test_an_organisations_acts_are_recorded_and_its_owners_read_them(
    audited: Audited, mailbox: Mailbox
) -> None:
    client = audited.client
    owner = await audited.user()
    org = await new_org(client, owner)
    base = f"{ORGS}/{org['id']}"
    invitee = await audited.user(email=unique_email())
    await client.post(
        f"{base}/invitations",
        json={"email": invitee.user.email, "roles": ["member"]},
        headers=owner.headers,
    )
    (invitation,) = await mailbox.wait_for(invitee.user.email)
    await client.post(
        "/api/v1/invitations/accept",
        json={"token": token_in(invitation)},
        headers=invitee.headers,
    )
    promoted = await client.patch(
        f"{base}/members/{invitee.user.id}", json={"roles": ["admin"]}, headers=owner.headers
    )
    key = await client.post(
        f"{base}/api-keys", json={"name": "ci", "scopes": ["projects:read"]}, headers=owner.headers
    )
    await client.delete(f"{base}/api-keys/{key.json()['id']}", headers=owner.headers)
    hook = await client.post(
        f"{base}/webhooks",
        json={"url": "https://example.com/hooks", "events": ["project.created"]},
        headers=owner.headers,
    )
    await client.post(f"{base}/webhooks/{hook.json()['id']}/rotate-secret", headers=owner.headers)
    await client.delete(f"{base}/members/{invitee.user.id}", headers=invitee.headers)

    read = await client.get(f"{base}/audit-events", headers=owner.headers)
    other_org = await new_org(client, invitee)
    outsider = await client.get(f"{ORGS}/{other_org['id']}/audit-events", headers=owner.headers)

    assert promoted.status_code == 200, promoted.text
    assert read.status_code == 200, read.text
    events = list(reversed(read.json()["items"]))
    assert [event["action"] for event in events] == [
        "org.created",
        "invitation.created",
        "invitation.accepted",
        "org.member_roles_changed",
        "org_api_key.created",
        "org_api_key.revoked",
        "webhook.created",
        "webhook.secret_rotated",
        "org.member_removed",
    ]
    actors = [event["actor_id"] for event in events]
    assert actors.count(str(invitee.user.id)) == 2  # accepted, and left
    assert events[3]["details"] == {"roles": ["admin"]}
    assert events[-1]["details"] == {"left": True}
    assert {event["org_id"] for event in events} == {org["id"]}
    assert outsider.status_code == 404


async def test_a_personal_webhook_endpoints_changes_are_its_owners_acts(audited: Audited) -> None:
    owner = await audited.user()
    hooks = "/api/v1/webhooks"
    created = await audited.client.post(
        hooks,
        json={"url": "https://example.com/hooks", "events": ["item.created"]},
        headers=owner.headers,
    )
    url = f"{hooks}/{created.json()['id']}"
    await audited.client.patch(url, json={"enabled": False}, headers=owner.headers)
    await audited.client.delete(url, headers=owner.headers)

    events = await audited.events(actor_id=owner.user.id, target_type="webhook")

    assert [event.action for event in events] == [
        "webhook.created",
        "webhook.updated",
        "webhook.deleted",
    ]
    assert events[0].details == {"url": "https://example.com/hooks", "events": ["item.created"]}
    assert events[1].details == {"changed": ["enabled"]}
    assert "whsec_" not in str([event.details for event in events])
