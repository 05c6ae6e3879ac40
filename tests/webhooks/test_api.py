"""`/api/v1/webhooks` and `/api/v1/orgs/{org_id}/webhooks`: endpoints are made, read, changed
and deleted by their owner alone; the secret is shown once; URLs that lead into our own network
and events nobody emits are refused."""

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.assertions import assert_error
from tests.orgs.factories import ORGS, new_org
from tests.users.factories import signed_in
from tests.webhooks.conftest import HOOKS, subscribe

URL = "https://example.com/hooks/app"


async def test_an_endpoint_is_made_read_changed_and_deleted_its_secret_shown_once(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await signed_in(client, session)
    created = await client.post(
        HOOKS,
        json={"url": URL, "events": ["item.updated", "item.created", "item.created"]},
        headers=owner.headers,
    )
    webhook = created.json()
    url = f"{HOOKS}/{webhook['id']}"
    read = await client.get(url, headers=owner.headers)
    listed = await client.get(HOOKS, headers=owner.headers)
    changed = await client.patch(
        url, json={"description": "orders", "enabled": False}, headers=owner.headers
    )
    deleted = await client.delete(url, headers=owner.headers)
    gone = await client.get(url, headers=owner.headers)

    assert created.status_code == 201
    assert created.headers["location"].endswith(url)
    assert webhook["secret"].startswith("whsec_")
    assert webhook["events"] == ["item.created", "item.updated"]
    assert (webhook["enabled"], webhook["failures"]) == (True, 0)
    assert "secret" not in read.json()
    assert [each["id"] for each in listed.json()] == [webhook["id"]]
    assert (changed.json()["description"], changed.json()["enabled"]) == ("orders", False)
    assert deleted.status_code == 204
    assert_error(gone, 404, "NOT_FOUND")


async def test_rotation_shows_the_new_secret_once(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await signed_in(client, session)
    webhook = await subscribe(client, owner, URL)

    rotated = await client.post(f"{HOOKS}/{webhook['id']}/rotate-secret", headers=owner.headers)
    read = await client.get(f"{HOOKS}/{webhook['id']}", headers=owner.headers)

    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != webhook["secret"]
    assert read.json()["previous_until"] == rotated.json()["previous_until"]
    assert "secret" not in read.json()


async def test_nobody_else_sees_or_touches_an_endpoint(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await signed_in(client, session)
    other = await signed_in(client, session)
    webhook = await subscribe(client, owner, URL)
    url = f"{HOOKS}/{webhook['id']}"

    answers = [
        await client.get(url, headers=other.headers),
        await client.patch(url, json={"description": "x"}, headers=other.headers),
        await client.delete(url, headers=other.headers),
        await client.post(f"{url}/rotate-secret", headers=other.headers),
        await client.post(f"{url}/test", headers=other.headers),
        await client.get(f"{url}/deliveries", headers=other.headers),
    ]
    listed = await client.get(HOOKS, headers=other.headers)

    assert [answer.status_code for answer in answers] == [404] * 6
    assert listed.json() == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8000/hooks", "is a loopback, private or reserved address"),
        ("http://10.0.0.1/hooks", "is a loopback, private or reserved address"),
        ("http://[::1]/hooks", "is a loopback, private or reserved address"),
        ("http://169.254.169.254/latest/meta-data", "is a link-local or metadata address"),
        ("http://localhost:8080/hooks", "is on this machine"),
        ("http://0.0.0.0/hooks", "is not a unicast address"),
        ("ftp://example.com/hooks", "must be http or https"),
        ("https://user:pw@example.com/hooks", "must not carry credentials"),
        ("https:///hooks", "has no host"),
    ],
)
async def test_urls_into_our_own_network_are_refused(
    client: AsyncClient, session: AsyncSession, url: str, problem: str
) -> None:
    owner = await signed_in(client, session)

    response = await client.post(
        HOOKS, json={"url": url, "events": ["item.created"]}, headers=owner.headers
    )

    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert body["detail"] == f"The URL {problem}"
    assert body["errors"][0]["loc"] == ["body", "url"]


async def test_events_must_be_the_owners_kind(client: AsyncClient, session: AsyncSession) -> None:
    owner = await signed_in(client, session)
    org = await new_org(client, owner)
    org_hooks = f"{ORGS}/{org['id']}/webhooks"

    unknown = await client.post(
        HOOKS, json={"url": URL, "events": ["item.exploded"]}, headers=owner.headers
    )
    projects_for_a_user = await client.post(
        HOOKS, json={"url": URL, "events": ["project.created"]}, headers=owner.headers
    )
    items_for_an_org = await client.post(
        org_hooks, json={"url": URL, "events": ["item.created"]}, headers=owner.headers
    )
    projects_for_an_org = await client.post(
        org_hooks, json={"url": URL, "events": ["project.created"]}, headers=owner.headers
    )

    # Known: every user-owned entity's events (the generator's tests declare more of them).
    detail = assert_error(unknown, 422, "VALIDATION_ERROR")["detail"]
    assert detail.startswith("Unknown events: item.exploded (known: ")
    assert "item.created, item.deleted, item.restored, item.updated" in detail
    assert projects_for_a_user.status_code == 422
    assert items_for_an_org.status_code == 422
    assert projects_for_an_org.status_code == 201
    assert (await client.get(HOOKS, headers=owner.headers)).json() == []


async def test_a_change_may_leave_fields_out_but_not_null_them(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await signed_in(client, session)
    webhook = await subscribe(client, owner, URL)
    url = f"{HOOKS}/{webhook['id']}"

    nulled = await client.patch(url, json={"enabled": None}, headers=owner.headers)
    unsafe = await client.patch(url, json={"url": "http://10.1.2.3/"}, headers=owner.headers)
    kept = await client.patch(url, json={"description": None}, headers=owner.headers)

    assert assert_error(nulled, 422, "VALIDATION_ERROR")["errors"][0]["loc"] == [
        "body",
        "enabled",
    ]
    assert unsafe.status_code == 422
    assert kept.status_code == 200
    assert kept.json()["url"] == URL


async def test_at_most_twenty_endpoints_each(client: AsyncClient, session: AsyncSession) -> None:
    owner = await signed_in(client, session)
    for _ in range(20):
        await subscribe(client, owner, URL)

    response = await client.post(
        HOOKS, json={"url": URL, "events": ["item.created"]}, headers=owner.headers
    )

    assert assert_error(response, 409, "CONFLICT")["detail"] == (
        "At most 20 webhook endpoints each"
    )


async def test_an_unknown_delivery_is_not_found(client: AsyncClient, session: AsyncSession) -> None:
    owner = await signed_in(client, session)
    webhook = await subscribe(client, owner, URL)

    response = await client.post(
        f"{HOOKS}/{webhook['id']}/deliveries/{uuid.uuid4()}/retry", headers=owner.headers
    )

    assert assert_error(response, 404, "NOT_FOUND")["detail"] == "Delivery not found"
