import base64
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from app.core.entity import Entity, Tenancy
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.events import Change, event_name, event_types
from app.core.pagination import PageRequest, PageResult
from app.core.request import Clock
from app.identity.service import AuditLog, Target
from app.jobs.definitions import JobType
from app.jobs.service import JobService
from app.mail.sender import MailTemplates
from app.mail.service import OutboxService
from app.webhooks.audit import (
    WEBHOOK_CREATED,
    WEBHOOK_DELETED,
    WEBHOOK_SECRET_ROTATED,
    WEBHOOK_UPDATED,
)
from app.webhooks.filters import DeliveryFilter
from app.webhooks.models import Delivery, DeliveryState, Endpoint, Owner
from app.webhooks.repository import DeliveryRepository, EndpointRepository
from app.webhooks.schemas import WebhookCreate, WebhookDelivery, WebhookUpdate
from app.webhooks.sender import Attempt, Result, url_problem

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SECRET_BYTES = 32
MAX_ENDPOINTS = 20
TEST_EVENT = "webhook.test"
ERROR_CHARS = 500


@dataclass(frozen=True)
class WebhookPolicy:
    production: bool
    allow_private: bool
    # An endpoint is disabled once this many tries failed in a row, over at least `period`.
    disable_after: int
    disable_period: timedelta
    secret_grace: timedelta


@dataclass(frozen=True)
class NewEndpoint:
    record: Endpoint
    secret: str


@dataclass(frozen=True)
class Rotated:
    secret: str
    previous_until: datetime


class Recorded(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


class Deliveries:
    """Events queued for endpoints in the caller's unit of work: one row each (its exact body),
    and the job that sends it, so a delivery exists exactly when its change committed."""

    def __init__(
        self,
        endpoints: EndpointRepository,
        deliveries: DeliveryRepository,
        *,
        jobs: JobService,
        delivery: JobType[WebhookDelivery],
        clock: Clock,
    ):
        self.endpoints = endpoints
        self.deliveries = deliveries
        self.jobs = jobs
        self.delivery = delivery
        self.clock = clock

    async def queue(
        self, owner: Owner, event: str, data: Sequence[str], endpoint_ids: Sequence[uuid.UUID]
    ) -> list[uuid.UUID]:
        """Deliveries of `event` to the endpoints, one per JSON document of `data` each."""
        now = self.clock()
        timestamp = now.isoformat().replace("+00:00", "Z")
        head = json.dumps({"type": event, "timestamp": timestamp}, separators=(",", ":"))
        rows: list[dict[str, Any]] = []
        for each in data:
            body = f'{head[:-1]},"data":{each}}}'
            rows.extend(
                {
                    "id": uuid.uuid4(),
                    "endpoint_id": endpoint_id,
                    "event_type": event,
                    "body": body,
                    "state": DeliveryState.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
                for endpoint_id in endpoint_ids
            )
        await self.deliveries.add_many(rows)
        for row in rows:
            await self.send(row["id"], owner)
        return [row["id"] for row in rows]

    async def send(self, delivery_id: uuid.UUID, owner: Owner) -> None:
        payload = WebhookDelivery(delivery_id=delivery_id, org_id=owner.org_id)
        await self.jobs.enqueue(self.delivery, payload)


class WebhookFeed:
    """The change feed of entity services: each change of a user's or an organisation's rows
    becomes a delivery for every enabled endpoint of theirs that subscribes to its event. A
    write nobody subscribes to costs one indexed query."""

    def __init__(self, deliveries: Deliveries):
        self.deliveries = deliveries

    async def changed(
        self, entity: Entity[Any, Any, Any, Any], change: Change, rows: Sequence[Any]
    ) -> None:
        column = entity.tenancy.column
        if column is None:
            return
        event = event_name(entity, change)
        tenants: dict[uuid.UUID, list[Any]] = {}
        for row in rows:
            tenants.setdefault(getattr(row, column), []).append(row)
        for tenant, owned in tenants.items():
            owner = Owner(column, tenant)
            subscribed = await self.deliveries.endpoints.subscribed(owner)
            targets = [endpoint for endpoint, events in subscribed if event in events]
            if targets:
                data = [entity.read.model_validate(row).model_dump_json() for row in owned]
                await self.deliveries.queue(owner, event, data, targets)


class WebhookService:
    """An owner's endpoints (a user's, or an organisation's), their deliveries, and what a
    worker records of each try."""

    def __init__(
        self, deliveries: Deliveries, *, policy: WebhookPolicy, clock: Clock, audit: AuditLog
    ):
        self.audit = audit
        self.queue = deliveries
        self.endpoints = deliveries.endpoints
        self.deliveries = deliveries.deliveries
        self.policy = policy
        self.clock = clock

    async def create(self, owner: Owner, data: WebhookCreate) -> NewEndpoint:
        self._check_url(data.url)
        self._check_events(owner, data.events)
        if len(await self.endpoints.list_for(owner)) >= MAX_ENDPOINTS:
            raise ConflictError(f"At most {MAX_ENDPOINTS} webhook endpoints each")
        secret = _new_secret()
        now = self.clock()
        tenant: dict[str, Any] = {owner.column: owner.id}
        record = await self.endpoints.create(
            None,
            **tenant,
            created_by=owner.actor,
            url=data.url,
            description=data.description,
            events=data.events,
            secret=secret,
            created_at=now,
            updated_at=now,
        )
        details = {"url": data.url, "events": data.events}
        await self._record(WEBHOOK_CREATED, owner, record, details)
        return NewEndpoint(record, secret)

    async def list_for(self, owner: Owner) -> list[Endpoint]:
        return await self.endpoints.list_for(owner)

    async def get(self, owner: Owner, endpoint_id: uuid.UUID, *, lock: bool = False) -> Endpoint:
        endpoint = await self.endpoints.get_for(owner, endpoint_id, lock=lock)
        if endpoint is None:
            raise NotFoundError("Webhook not found")
        return endpoint

    async def update(self, owner: Owner, endpoint_id: uuid.UUID, data: WebhookUpdate) -> Endpoint:
        endpoint = await self.get(owner, endpoint_id, lock=True)
        changes = data.model_dump(exclude_unset=True)
        if "url" in changes:
            self._check_url(changes["url"])
        if "events" in changes:
            self._check_events(owner, changes["events"])
        details = {"changed": sorted(changes)}
        if changes.get("enabled") and not endpoint.enabled:
            changes.update(disabled_reason=None, failures=0, failing_since=None)
        changed = await self.endpoints.change(endpoint, **changes, updated_at=self.clock())
        await self._record(WEBHOOK_UPDATED, owner, changed, details)
        return changed

    async def delete(self, owner: Owner, endpoint_id: uuid.UUID) -> None:
        """The endpoint and its deliveries; jobs still queued for them find nothing to send."""
        endpoint = await self.get(owner, endpoint_id, lock=True)
        await self.endpoints.delete(endpoint)
        await self._record(WEBHOOK_DELETED, owner, endpoint, {"url": endpoint.url})

    async def rotate_secret(self, owner: Owner, endpoint_id: uuid.UUID) -> Rotated:
        """A new secret; the current one keeps signing (as a second signature) for the grace
        period, so receivers can switch without losing a delivery."""
        endpoint = await self.get(owner, endpoint_id, lock=True)
        now = self.clock()
        secret, until = _new_secret(), now + self.policy.secret_grace
        await self.endpoints.change(
            endpoint,
            secret=secret,
            previous_secret=endpoint.secret,
            previous_until=until,
            updated_at=now,
        )
        await self._record(WEBHOOK_SECRET_ROTATED, owner, endpoint, {})
        return Rotated(secret, until)

    async def list_deliveries(
        self, owner: Owner, endpoint_id: uuid.UUID, filters: DeliveryFilter, page: PageRequest
    ) -> PageResult[Delivery]:
        endpoint = await self.get(owner, endpoint_id)
        return await self.deliveries.list_filtered(endpoint.id, filters, page)

    async def retry(self, owner: Owner, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
        """A delivery sent again from its first try (a delivered one too: the receiver
        de-duplicates by `webhook-id`)."""
        endpoint = await self._enabled(owner, endpoint_id)
        delivery = self._found(await self.deliveries.get_in(endpoint.id, delivery_id, lock=True))
        if delivery.state == DeliveryState.PENDING:
            raise ConflictError("The delivery is still being tried")
        await self.queue.send(delivery.id, owner)
        return await self.deliveries.change(delivery, state=DeliveryState.PENDING, attempts=0)

    async def test(self, owner: Owner, endpoint_id: uuid.UUID) -> Delivery:
        """A `webhook.test` event for this endpoint alone, whatever it subscribes to."""
        endpoint = await self._enabled(owner, endpoint_id)
        data = json.dumps({"webhook_id": str(endpoint.id)})
        (delivery_id,) = await self.queue.queue(owner, TEST_EVENT, [data], [endpoint.id])
        return self._found(await self.deliveries.get(delivery_id))

    async def attempt(self, payload: WebhookDelivery) -> Attempt | None:
        """What a worker sends for the delivery; None when nothing is to be sent (delivered
        meanwhile, given up, deleted, or its endpoint disabled)."""
        await self.endpoints.bind_org(payload.org_id)
        delivery = await self.deliveries.get(payload.delivery_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return None
        endpoint = await self.endpoints.get(delivery.endpoint_id)
        if endpoint is None:
            return None
        if not endpoint.enabled:
            await self.deliveries.change(
                delivery, state=DeliveryState.FAILED, error="The endpoint is disabled"
            )
            return None
        signing = [endpoint.secret]
        if (
            endpoint.previous_secret
            and endpoint.previous_until
            and self.clock() < endpoint.previous_until
        ):
            signing.append(endpoint.previous_secret)
        return Attempt(str(delivery.id), endpoint.url, delivery.body, tuple(signing))

    async def record(
        self, payload: WebhookDelivery, result: Result, *, attempt: int, last_try: bool
    ) -> tuple[Recorded, Endpoint | None]:
        """A try's outcome, on the delivery and on its endpoint's run of failures; the endpoint
        (when this try disabled it) for its owners to be told."""
        await self.endpoints.bind_org(payload.org_id)
        delivery = await self.deliveries.get(payload.delivery_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return Recorded.FAILED if delivery is None else Recorded.DELIVERED, None
        endpoint = await self.endpoints.lock(delivery.endpoint_id)
        if endpoint is None:
            return Recorded.FAILED, None
        now = self.clock()
        answer = {
            "attempts": attempt,
            "attempted_at": now,
            "response_status": result.status,
            "response_body": result.body,
            "error": result.error[:ERROR_CHARS] if result.error else None,
        }
        if result.delivered:
            await self.deliveries.change(
                delivery, **answer, state=DeliveryState.DELIVERED, delivered_at=now
            )
            if endpoint.failures:
                await self.endpoints.change(endpoint, failures=0, failing_since=None)
            return Recorded.DELIVERED, None
        failing_since = endpoint.failing_since or now
        failures = endpoint.failures + 1
        disable = (
            endpoint.enabled
            and failures >= self.policy.disable_after
            and now - failing_since >= self.policy.disable_period
        )
        gave_up = result.permanent or last_try or disable
        state = DeliveryState.FAILED if gave_up else DeliveryState.PENDING
        await self.deliveries.change(delivery, **answer, state=state)
        await self.endpoints.change(endpoint, failures=failures, failing_since=failing_since)
        if disable:
            reason = (
                f"{failures} tries failed in a row since "
                f"{failing_since:%Y-%m-%d %H:%M} UTC; the last: {answer['error']}"
            )[:300]
            await self.endpoints.change(
                endpoint, enabled=False, disabled_reason=reason, updated_at=now
            )
            await self.deliveries.fail_pending(endpoint.id, "The endpoint is disabled", now)
            return Recorded.FAILED, endpoint
        return (Recorded.FAILED if gave_up else Recorded.RETRY), None

    async def _record(
        self, action: str, owner: Owner, endpoint: Endpoint, details: Mapping[str, object]
    ) -> None:
        target = Target("webhook", endpoint.id)
        await self.audit.record(
            action, actor_id=owner.actor, org_id=owner.org_id, target=target, details=details
        )

    @staticmethod
    def _found(delivery: Delivery | None) -> Delivery:
        if delivery is None:
            raise NotFoundError("Delivery not found")
        return delivery

    async def _enabled(self, owner: Owner, endpoint_id: uuid.UUID) -> Endpoint:
        endpoint = await self.get(owner, endpoint_id)
        if not endpoint.enabled:
            raise ConflictError("The webhook is disabled: enable it first (PATCH enabled=true)")
        return endpoint

    def _check_url(self, url: str) -> None:
        policy = self.policy
        problem = url_problem(url, production=policy.production, allow_private=policy.allow_private)
        if problem:
            raise InvalidInputError(f"The URL {problem}", loc=["body", "url"])

    def _check_events(self, owner: Owner, events: Sequence[str]) -> None:
        known = event_types(Tenancy.USER if owner.org_id is None else Tenancy.ORG)
        if unknown := sorted(set(events) - set(known)):
            raise InvalidInputError(
                f"Unknown events: {', '.join(unknown)} (known: {', '.join(known)})",
                loc=["body", "events"],
            )


class DisabledNotice:
    """Mails an endpoint's owners that it was disabled, in the unit of work that disabled it."""

    def __init__(
        self, endpoints: EndpointRepository, outbox: OutboxService, templates: MailTemplates
    ):
        self.endpoints = endpoints
        self.outbox = outbox
        self.templates = templates

    async def send(self, endpoint: Endpoint) -> None:
        for recipient in await self.endpoints.recipients(endpoint):
            await self.outbox.queue(
                self.templates.render(
                    "endpoint_disabled",
                    recipient,
                    url=endpoint.url,
                    reason=endpoint.disabled_reason,
                    organisation=endpoint.org_id is not None,
                )
            )


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
