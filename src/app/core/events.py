"""What changed in a unit of work, told to whoever listens (outgoing webhooks): each entity's
rows created, updated, deleted and restored, as `<entity>.<change>` events."""

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

from app.core.entity import Entity, Tenancy, declared_entities


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    RESTORED = "restored"


class ChangeFeed(Protocol):
    """Told of every change an entity service writes, inside its unit of work: what it records
    commits or rolls back with the change."""

    async def changed(
        self, entity: Entity[Any, Any, Any, Any], change: Change, rows: Sequence[Any]
    ) -> None: ...


def event_name(entity: Entity[Any, Any, Any, Any], change: Change) -> str:
    return f"{entity.name}.{change}"


def event_types(tenancy: Tenancy) -> list[str]:
    """The events of the entities whose rows are a tenant's of this kind (a user's, an
    organisation's), sorted."""
    return sorted(
        event_name(entity, change)
        for entity in declared_entities()
        if entity.tenancy is tenancy
        for change in Change
        if change is not Change.RESTORED or entity.soft_delete
    )
