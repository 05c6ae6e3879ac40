from app.core.service import EntityService
from app.items.models import Item
from app.items.schemas import ItemCreate, ItemRead, ItemUpdate


class ItemService(EntityService[Item, ItemCreate, ItemUpdate, ItemRead]):
    """Items belong to their owner: anyone else gets 404 (superusers see all)."""
