from app.core.entity import Entity, Tenancy
from app.items.filters import ItemFilter
from app.items.models import Item
from app.items.permissions import ITEMS_READ, ITEMS_WRITE
from app.items.schemas import ItemCreate, ItemRead, ItemUpdate

ITEMS = Entity(
    name="item",
    plural="items",
    model=Item,
    create=ItemCreate,
    update=ItemUpdate,
    read=ItemRead,
    filter=ItemFilter,
    read_permission=ITEMS_READ,
    write_permission=ITEMS_WRITE,
    tenancy=Tenancy.USER,
)
