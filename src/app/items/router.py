"""Items over HTTP: CRUD with ETags, soft delete, lists, bulk upsert, idempotent create."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
    UnauthorizedError,
    error_responses,
)
from app.core.etag import etag
from app.core.pagination import PageResult
from app.core.request import IdempotencyKeyHeader, IfMatchDep, location
from app.core.service import BulkOutcome
from app.items.dependencies import ItemServiceDep
from app.items.filters import ItemListQuery
from app.items.models import Item
from app.items.schemas import ItemBulk, ItemBulkResult, ItemCreate, ItemPage, ItemRead, ItemUpdate
from app.sessions.dependencies import CurrentUser

router = APIRouter(prefix="/items", tags=["items"], responses=error_responses(UnauthorizedError))
by_id_errors = error_responses(NotFoundError)
write_errors = error_responses(NotFoundError, PreconditionFailedError, PreconditionRequiredError)


def _tag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemRead,
    responses=error_responses(ConflictError),
)
async def create_item(
    data: ItemCreate,
    user: CurrentUser,
    service: ItemServiceDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Item | dict[str, object]:
    """Create an item; `Location` and `ETag` name the new version."""
    created = await service.create(user, data, idempotency_key=idempotency_key)
    response.headers["Location"] = location(request, "get_item", item_id=created.id)
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    _tag(response, created.version)
    return created.body


@router.get("", response_model=ItemPage, responses=error_responses(ForbiddenError))
async def list_items(
    user: CurrentUser,
    service: ItemServiceDep,
    query: ItemListQuery,
    include_deleted: Annotated[bool, Query(description="Superusers only")] = False,
) -> PageResult[Item]:
    """The caller's items (everyone's for superusers), filtered, sorted and paged."""
    page = await service.list_page(user, query.filters, query.page, include_deleted=include_deleted)
    return query.signed(page)


@router.post("/bulk", response_model=ItemBulkResult)
async def bulk_upsert_items(
    data: ItemBulk, user: CurrentUser, service: ItemServiceDep
) -> BulkOutcome[Item]:
    """Create or update up to 1000 items in one statement; others' ids are skipped."""
    return await service.bulk_upsert(user, data)


@router.get("/{item_id:uuid}", response_model=ItemRead, responses=by_id_errors)
async def get_item(
    item_id: uuid.UUID, user: CurrentUser, service: ItemServiceDep, response: Response
) -> Item:
    """One item, with its `ETag`."""
    item = await service.get(user, item_id)
    _tag(response, item.version)
    return item


@router.patch("/{item_id:uuid}", response_model=ItemRead, responses=write_errors)
async def update_item(
    item_id: uuid.UUID,
    data: ItemUpdate,
    user: CurrentUser,
    service: ItemServiceDep,
    response: Response,
    if_match: IfMatchDep,
) -> Item:
    """Partial update; `version` goes up by one. With `If-Match`, 412 if it changed since."""
    item = await service.update(user, item_id, data, if_match=if_match)
    _tag(response, item.version)
    return item


@router.delete("/{item_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=write_errors)
async def delete_item(
    item_id: uuid.UUID, user: CurrentUser, service: ItemServiceDep, if_match: IfMatchDep
) -> None:
    """Soft delete: the item disappears from reads until restored."""
    await service.delete(user, item_id, if_match=if_match)


@router.post("/{item_id:uuid}/restore", response_model=ItemRead, responses=by_id_errors)
async def restore_item(
    item_id: uuid.UUID, user: CurrentUser, service: ItemServiceDep, response: Response
) -> Item:
    """Bring back a soft-deleted item."""
    item = await service.restore(user, item_id)
    _tag(response, item.version)
    return item
