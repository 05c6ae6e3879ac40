from app.core.service import EntityService
from app.items.models import Item
from app.items.schemas import ItemCreate, ItemRead, ItemUpdate


class ItemService(EntityService[Item, ItemCreate, ItemUpdate]):
    """Items belong to their owner: anyone else gets 404 (superusers see all)."""

    not_found_message = "Item not found"
    idempotency_scope = "items.create"
    read_schema = ItemRead
