from app.core.entity_repository import EntityRepository
from app.items.entity import ITEMS
from app.items.models import Item
from app.items.schemas import ItemCreate, ItemRead, ItemUpdate


class ItemRepository(EntityRepository[Item, ItemCreate, ItemUpdate, ItemRead]):
    entity = ITEMS
