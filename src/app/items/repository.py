from app.core.entity_repository import EntityRepository
from app.items.models import Item
from app.items.schemas import ItemCreate, ItemUpdate


class ItemRepository(EntityRepository[Item, ItemCreate, ItemUpdate]):
    model = Item
