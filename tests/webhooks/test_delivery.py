"""Deliveries to a real HTTP server on loopback, by the app's own job worker: each committed
change reaches its subscribers signed per Standard Webhooks (checked with the reference
library, as a receiver would), a rolled-back one never; failures are retried, an endpoint that
keeps failing is disabled and its owner mailed; rotation signs with both secrets for a while."""

import asyncio
import json
import socket
from typing import Annotated

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.core.config import Settings
from app.core.errors import ConflictError
from app.identity.models import User
from app.items.dependencies import ItemServiceDep
from app.items.permissions import ITEMS_WRITE
from app.items.schemas import ItemCreate
from app.sessions.dependencies import require
from tests.conftest import http_client, running_app
from tests.mail import Mailbox
from tests.orgs.factories import ORGS, new_org
from tests.webhooks.conftest import (
    HOOKS,
    Live,
    Receiver,
    deliveries,
    subscribe,
    until_delivery,
)

ITEMS = "/api/v1/items"


def verified(secret: str, body: str, headers: dict[str, str]) -> dict[str, object]:
    payload: dict[str, object] = Webhook(secret).verify(body, headers)
    return payload


async def test_a_committed_change_reaches_its_subscriber_signed(
    live: Live, receiver: Receiver
) -> None:
    owner = await live.user()
    webhook = await subscribe(live.client, owner, receiver.url(), "item.created", "item.updated")
    await subscribe(live.client, owner, receiver.url("/deletes"), "item.deleted")

    created = await live.client.post(ITEMS, json={"title": "Invoice"}, headers=owner.headers)
    (received,) = await receiver.wait_for(1)
    delivery = await until_delivery(live.client, owner, webhook, "delivered")

    payload = verified(webhook["secret"], received.body, received.headers)
    assert received.path == "/hooks"
    assert payload["type"] == "item.created"
    assert payload["data"] == created.json()
    assert received.headers["webhook-id"] == delivery["id"]
    assert received.headers["content-type"] == "application/json"
    assert (delivery["event_type"], delivery["attempts"]) == ("item.created", 1)
    assert (delivery["response_status"], delivery["response_body"]) == (200, "ok")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(received.body, received.headers)


async def test_a_rolled_back_change_is_never_delivered(live: Live, receiver: Receiver) -> None:
    async def create_then_fail(
        items: ItemServiceDep, user: Annotated[User, require(ITEMS_WRITE)]
    ) -> None:
        await items.create(user, ItemCreate(title="lost"))
        raise ConflictError("refused after writing")

    live.app.add_api_route("/create-then-fail", create_then_fail, methods=["POST"])
    owner = await live.user()
    webhook = await subscribe(live.client, owner, receiver.url())

    refused = await live.client.post("/create-then-fail", headers=owner.headers)
    kept = await live.client.post(ITEMS, json={"title": "kept"}, headers=owner.headers)
    (received,) = await receiver.wait_for(1)
    await asyncio.sleep(0.3)

    assert refused.status_code == 409
    assert kept.status_code == 201
    assert json.loads(received.body)["data"]["title"] == "kept"
    assert len(receiver.received) == 1
    assert len(await deliveries(live.client, owner, webhook)) == 1


async def test_a_failing_endpoint_is_retried_until_it_answers(
    live: Live, receiver: Receiver
) -> None:
    owner = await live.user()
    webhook = await subscribe(live.client, owner, receiver.url())
    receiver.answers = [500, 503]

    await live.client.post(ITEMS, json={"title": "retried"}, headers=owner.headers)
    received = await receiver.wait_for(3)
    delivery = await until_delivery(live.client, owner, webhook, "delivered")
    read = await live.client.get(f"{HOOKS}/{webhook['id']}", headers=owner.headers)

    # The same delivery each time: one webhook-id for the receiver to de-duplicate by.
    assert len({each.headers["webhook-id"] for each in received}) == 1
    assert delivery["attempts"] == 3
    assert (read.json()["enabled"], read.json()["failures"]) == (True, 0)


async def test_an_endpoint_that_keeps_failing_is_disabled_and_its_owner_mailed(
    live: Live, receiver: Receiver, mailbox: Mailbox
) -> None:
    owner = await live.user()
    webhook = await subscribe(live.client, owner, receiver.url())
    url = f"{HOOKS}/{webhook['id']}"
    receiver.answers = [500, 500, 500]

    await live.client.post(ITEMS, json={"title": "lost"}, headers=owner.headers)
    (mail,) = await mailbox.wait_for(owner.user.email)
    failed = await until_delivery(live.client, owner, webhook, "failed")
    disabled = (await live.client.get(url, headers=owner.headers)).json()
    refused = await live.client.post(
        f"{url}/deliveries/{failed['id']}/retry", headers=owner.headers
    )
    enabled = await live.client.patch(url, json={"enabled": True}, headers=owner.headers)
    retried = await live.client.post(
        f"{url}/deliveries/{failed['id']}/retry", headers=owner.headers
    )
    delivered = await until_delivery(live.client, owner, webhook, "delivered")

    assert (failed["attempts"], failed["error"]) == (3, "Answered 500")
    assert disabled["enabled"] is False
    assert disabled["disabled_reason"].startswith("3 tries failed in a row since ")
    assert mail["Subject"] == "A webhook endpoint was disabled"
    assert receiver.url() in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (refused.status_code, refused.json()["error_code"]) == (409, "CONFLICT")
    assert (enabled.json()["enabled"], enabled.json()["failures"]) == (True, 0)
    assert enabled.json()["disabled_reason"] is None
    assert retried.status_code == 202
    assert delivered["attempts"] == 1
    assert len(receiver.received) == 4


async def test_after_rotation_both_secrets_sign_until_the_grace_ends(
    live: Live, receiver: Receiver
) -> None:
    owner = await live.user()
    webhook = await subscribe(live.client, owner, receiver.url())
    url = f"{HOOKS}/{webhook['id']}"

    rotated = (await live.client.post(f"{url}/rotate-secret", headers=owner.headers)).json()
    await live.client.post(ITEMS, json={"title": "in grace"}, headers=owner.headers)
    (in_grace,) = await receiver.wait_for(1)
    await asyncio.sleep(1.1)
    await live.client.post(ITEMS, json={"title": "after"}, headers=owner.headers)
    after = (await receiver.wait_for(2))[1]

    assert len(in_grace.headers["webhook-signature"].split(" ")) == 2
    verified(rotated["secret"], in_grace.body, in_grace.headers)
    verified(webhook["secret"], in_grace.body, in_grace.headers)
    verified(rotated["secret"], after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        verified(webhook["secret"], after.body, after.headers)


async def test_a_test_event_goes_to_the_endpoint_alone(live: Live, receiver: Receiver) -> None:
    owner = await live.user()
    webhook = await subscribe(live.client, owner, receiver.url(), "item.deleted")
    await subscribe(live.client, owner, receiver.url("/other"), "item.deleted")

    sent = await live.client.post(f"{HOOKS}/{webhook['id']}/test", headers=owner.headers)
    (received,) = await receiver.wait_for(1)

    assert (sent.status_code, sent.json()["event_type"]) == (202, "webhook.test")
    payload = verified(webhook["secret"], received.body, received.headers)
    assert payload["data"] == {"webhook_id": webhook["id"]}
    assert received.path == "/hooks"


async def test_an_organisations_endpoint_receives_its_projects_events(
    live: Live, receiver: Receiver
) -> None:
    owner = await live.user()
    org = await new_org(live.client, owner)
    base = f"{ORGS}/{org['id']}/webhooks"
    webhook = await subscribe(live.client, owner, receiver.url(), "project.created", base=base)
    other_org = await new_org(live.client, owner)

    project = await live.client.post(
        f"{ORGS}/{org['id']}/projects", json={"name": "Apollo"}, headers=owner.headers
    )
    await live.client.post(
        f"{ORGS}/{other_org['id']}/projects", json={"name": "Gemini"}, headers=owner.headers
    )
    await live.client.post(ITEMS, json={"title": "mine"}, headers=owner.headers)
    (received,) = await receiver.wait_for(1)
    await until_delivery(live.client, owner, webhook, "delivered", base=base)
    await asyncio.sleep(0.3)

    payload = verified(webhook["secret"], received.body, received.headers)
    assert (payload["type"], payload["data"]) == ("project.created", project.json())
    assert len(receiver.received) == 1


async def test_a_redirect_is_not_followed(live: Live, receiver: Receiver) -> None:
    owner = await live.user()
    webhook = await subscribe(live.client, owner, receiver.url())
    receiver.answers = [302, 302, 302]
    receiver.location = receiver.url("/elsewhere")

    await live.client.post(ITEMS, json={"title": "moved"}, headers=owner.headers)
    failed = await until_delivery(live.client, owner, webhook, "failed")

    assert [each.path for each in receiver.received] == ["/hooks"] * 3
    assert (failed["response_status"], failed["attempts"]) == (302, 3)
    assert failed["error"] == "Redirects are not followed (302)"


async def test_a_name_that_resolves_into_our_network_is_refused_when_delivering(
    hook_settings: Settings, receiver: Receiver
) -> None:
    # A name is not resolved when the endpoint is made (it may resolve elsewhere by the time
    # of a delivery), but at each delivery: this machine's own name resolves to loopback.
    name = socket.gethostname()
    address = (await asyncio.get_running_loop().getaddrinfo(name, receiver.port))[0][4][0]
    assert str(address).startswith("127."), f"{name} resolves to {address}"
    closed = hook_settings.model_copy(update={"webhooks_allow_private": False})

    async with running_app(closed) as app, http_client(app) as client:
        live = Live(app, client)
        owner = await live.user()
        webhook = await subscribe(client, owner, f"http://{name}:{receiver.port}/hooks")
        await client.post(ITEMS, json={"title": "kept in"}, headers=owner.headers)
        failed = await until_delivery(client, owner, webhook, "failed")

    assert receiver.received == []
    assert failed["attempts"] == 1
    assert failed["error"] == f"{name} resolves to a loopback, private or reserved address"
