from typing import Annotated

from fastapi import Depends

from app.core.db import service_dependency
from app.idempotency.dependencies import entity_service
from app.items.repository import ItemRepository
from app.items.service import ItemService

build_item_service = entity_service(ItemService, ItemRepository)
get_item_service = service_dependency(build_item_service)
ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]
