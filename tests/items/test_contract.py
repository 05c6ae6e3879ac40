"""Items keep the contract of every entity (the rest of this folder tests their own rules)."""

from app.items.entity import ITEMS
from tests.entity_contract import EntityContract


class TestItemContract(EntityContract):
    entity = ITEMS
    filter_case = ("is_active", "true", True, False)

    def payload(self) -> dict[str, object]:
        return {"title": "a title", "description": "words", "is_active": True}

    def change(self) -> dict[str, object] | None:
        return {"title": "changed"}
