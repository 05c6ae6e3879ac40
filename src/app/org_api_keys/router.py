"""An organisation's API keys (`keys:manage`): service accounts acting in it only."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from app.core.errors import (
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
    error_responses,
)
from app.identity.credentials import OrgMember
from app.identity.models import OrgApiKey
from app.org_api_keys.dependencies import OrgApiKeyServiceDep
from app.org_api_keys.permissions import KEYS_MANAGE
from app.org_api_keys.schemas import OrgApiKeyCreate, OrgApiKeyCreated, OrgApiKeyRead
from app.orgs.dependencies import require_org

router = APIRouter(
    prefix="/orgs/{org_id:uuid}/api-keys",
    tags=["organisations"],
    responses=error_responses(UnauthorizedError, PermissionDeniedError, NotFoundError),
)
Manager = Annotated[OrgMember, require_org(KEYS_MANAGE)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrgApiKeyCreated,
    responses=error_responses(ForbiddenError, PermissionDeniedError),
)
async def create_org_api_key(
    data: OrgApiKeyCreate, actor: Manager, keys: OrgApiKeyServiceDep
) -> OrgApiKeyCreated:
    """A key acting in this organisation only, with scopes the caller holds here; the key is
    in the answer this once (`app_org_…`)."""
    created = await keys.create(actor, data)
    record = OrgApiKeyRead.model_validate(created.record).model_dump()
    return OrgApiKeyCreated(**record, key=created.key)


@router.get("", response_model=list[OrgApiKeyRead])
async def list_org_api_keys(actor: Manager, keys: OrgApiKeyServiceDep) -> list[OrgApiKey]:
    """The organisation's keys (never the keys themselves)."""
    return await keys.list_in(actor)


@router.delete("/{key_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_org_api_key(key_id: uuid.UUID, actor: Manager, keys: OrgApiKeyServiceDep) -> None:
    """Revoke a key: its next request is refused, on every instance."""
    await keys.revoke(actor, key_id)
