"""Outgoing webhooks over HTTP: a user's endpoints (`/webhooks`, `webhooks:manage`) and an
organisation's (`/orgs/{org_id}/webhooks`, `org_webhooks:manage`), the same routes for both."""

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from app.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
    error_responses,
)
from app.core.pagination import PageResult
from app.core.request import created_location
from app.identity.credentials import OrgMember
from app.identity.models import User
from app.orgs.dependencies import require_org
from app.sessions.dependencies import require
from app.webhooks.dependencies import WebhookServiceDep
from app.webhooks.filters import DeliveryListQuery
from app.webhooks.models import Delivery, Endpoint, Owner
from app.webhooks.permissions import ORG_WEBHOOKS_MANAGE, WEBHOOKS_MANAGE
from app.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookSecret,
    WebhookUpdate,
)

ERRORS = error_responses(UnauthorizedError, ForbiddenError, PermissionDeniedError, NotFoundError)


async def your_endpoints(user: Annotated[User, require(WEBHOOKS_MANAGE)]) -> Owner:
    return Owner("owner_id", user.id, actor=user.id)


async def the_organisations(
    member: Annotated[OrgMember, require_org(ORG_WEBHOOKS_MANAGE)],
) -> Owner:
    return Owner("org_id", member.org_id, actor=member.user.id if member.user else None)


router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=ERRORS)
org_router = APIRouter(prefix="/orgs/{org_id:uuid}/webhooks", tags=["webhooks"], responses=ERRORS)


def mount(router: APIRouter, owner: Callable[..., Coroutine[Any, Any, Owner]], kind: str) -> None:
    """The routes on `router`, named `create_{kind}`, `list_{kind}s`, …"""
    Caller = Annotated[Owner, Depends(owner)]  # noqa: N806 - a type alias

    @router.post(
        "",
        name=f"create_{kind}",
        status_code=status.HTTP_201_CREATED,
        response_model=WebhookCreated,
        responses=error_responses(ConflictError),
    )
    async def create(
        data: WebhookCreate,
        caller: Caller,
        webhooks: WebhookServiceDep,
        request: Request,
        response: Response,
    ) -> WebhookCreated:
        """An endpoint receiving the events it names, signed with its secret (`whsec_…`):
        shown this once."""
        created = await webhooks.create(caller, data)
        response.headers["Location"] = created_location(request, created.record.id)
        record = WebhookRead.model_validate(created.record).model_dump()
        return WebhookCreated(**record, secret=created.secret)

    @router.get("", name=f"list_{kind}s", response_model=list[WebhookRead])
    async def list_endpoints(caller: Caller, webhooks: WebhookServiceDep) -> list[Endpoint]:
        """The endpoints, oldest first (never their secrets)."""
        return await webhooks.list_for(caller)

    @router.get("/{webhook_id:uuid}", name=f"get_{kind}", response_model=WebhookRead)
    async def get(webhook_id: uuid.UUID, caller: Caller, webhooks: WebhookServiceDep) -> Endpoint:
        return await webhooks.get(caller, webhook_id)

    @router.patch("/{webhook_id:uuid}", name=f"update_{kind}", response_model=WebhookRead)
    async def update(
        webhook_id: uuid.UUID, data: WebhookUpdate, caller: Caller, webhooks: WebhookServiceDep
    ) -> Endpoint:
        """Change the URL, events or description; `enabled: true` turns a disabled endpoint on
        again (its run of failures forgotten), `false` pauses it."""
        return await webhooks.update(caller, webhook_id, data)

    @router.delete(
        "/{webhook_id:uuid}", name=f"delete_{kind}", status_code=status.HTTP_204_NO_CONTENT
    )
    async def delete(webhook_id: uuid.UUID, caller: Caller, webhooks: WebhookServiceDep) -> None:
        """The endpoint and its deliveries: nothing more is sent to it."""
        await webhooks.delete(caller, webhook_id)

    @router.post(
        "/{webhook_id:uuid}/rotate-secret",
        name=f"rotate_{kind}_secret",
        response_model=WebhookSecret,
    )
    async def rotate_secret(
        webhook_id: uuid.UUID, caller: Caller, webhooks: WebhookServiceDep
    ) -> WebhookSecret:
        """A new secret, shown this once; until `previous_until` deliveries carry a signature
        with the previous one too (`WEBHOOKS_SECRET_GRACE`)."""
        rotated = await webhooks.rotate_secret(caller, webhook_id)
        return WebhookSecret(secret=rotated.secret, previous_until=rotated.previous_until)

    @router.get(
        "/{webhook_id:uuid}/deliveries", name=f"list_{kind}_deliveries", response_model=DeliveryPage
    )
    async def list_deliveries(
        webhook_id: uuid.UUID,
        caller: Caller,
        webhooks: WebhookServiceDep,
        query: DeliveryListQuery,
    ) -> PageResult[Delivery]:
        """What was sent to the endpoint, newest first; filter by `state` and `event_type`."""
        page = await webhooks.list_deliveries(caller, webhook_id, query.filters, query.page)
        return query.signed(page)

    @router.post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/retry",
        name=f"retry_{kind}_delivery",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=DeliveryRead,
        responses=error_responses(ConflictError),
    )
    async def retry(
        webhook_id: uuid.UUID,
        delivery_id: uuid.UUID,
        caller: Caller,
        webhooks: WebhookServiceDep,
    ) -> Delivery:
        """Send a failed (or delivered) delivery again, from its first try; 409 while it is
        still being tried, or when the endpoint is disabled."""
        return await webhooks.retry(caller, webhook_id, delivery_id)

    @router.post(
        "/{webhook_id:uuid}/test",
        name=f"test_{kind}",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=DeliveryRead,
        responses=error_responses(ConflictError),
    )
    async def test(webhook_id: uuid.UUID, caller: Caller, webhooks: WebhookServiceDep) -> Delivery:
        """A `webhook.test` event for this endpoint, whatever it subscribes to: follow it in
        its deliveries."""
        return await webhooks.test(caller, webhook_id)


mount(router, your_endpoints, "webhook")
mount(org_router, the_organisations, "org_webhook")
