"""The declaration of an entity the API serves: one place that its repository, service and
routes derive from."""

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any, Generic

from pydantic import BaseModel, Field, create_model

from app.core.filters import ListFilter, OwnedFilter
from app.core.models import ModelT, SoftDeleteMixin, VersionMixin
from app.core.schemas import MAX_BULK, Bulk, BulkResult, CreateT, Page, ReadT, UpdateT


class Tenancy(StrEnum):
    """Whose rows are whose: each user's own (`owner_id`), each organisation's (`org_id`: its
    members reach them under `/orgs/{org_id}/…`), or everyone's."""

    USER = "user"
    ORG = "org"
    NONE = "none"

    @property
    def column(self) -> str | None:
        """The column naming a row's tenant."""
        return {Tenancy.USER: "owner_id", Tenancy.ORG: "org_id"}.get(self)


_DECLARED: dict[str, "Entity[Any, Any, Any, Any]"] = {}


def declared_entities() -> list["Entity[Any, Any, Any, Any]"]:
    """Every entity declared so far (at import of the feature that owns it), by name."""
    return [_DECLARED[name] for name in sorted(_DECLARED)]


@dataclass(frozen=True, kw_only=True)
class Entity(Generic[ModelT, CreateT, UpdateT, ReadT]):
    """An entity: its model, schemas, filter, permissions, tenancy and capabilities.

    `name` and `plural` are the snake-case words of its routes (`get_item`, `list_items`,
    `/{item_id}`). The capabilities are declared, and checked against the model's mixins, so a
    model and its declaration cannot disagree. The page, bulk and bulk-result schemas are
    derived (`ItemPage`, `ItemUpsert`, `ItemBulk`, `ItemBulkResult`).
    """

    name: str
    plural: str
    model: type[ModelT]
    create: type[CreateT]
    update: type[UpdateT]
    read: type[ReadT]
    filter: type[ListFilter]
    read_permission: str
    write_permission: str
    tenancy: Tenancy
    soft_delete: bool = True
    versioned: bool = True
    max_bulk: int = MAX_BULK
    idempotency_scope: str = ""
    page: type[Page[ReadT]] = field(init=False)
    upsert: type[BaseModel] = field(init=False)
    bulk: type[Bulk[Any]] = field(init=False)
    bulk_result: type[BulkResult[ReadT]] = field(init=False)

    def __post_init__(self) -> None:
        self._check()
        title = self.model.__name__
        upsert = create_model(
            f"{title}Upsert",
            __base__=self.create,
            __doc__=f"One row of a bulk upsert: with an `id` it updates (or creates) that "
            f"{self.noun}.",
            id=(uuid.UUID | None, None),
        )
        skipped = {
            Tenancy.USER: "they belong to another user or are deleted",
            Tenancy.ORG: "they belong to another organisation or are deleted",
        }.get(self.tenancy, "they are deleted")
        derived = {
            "page": create_model(f"{title}Page", __base__=Page[self.read]),  # type: ignore[name-defined]
            "upsert": upsert,
            "bulk": create_model(
                f"{title}Bulk",
                __base__=Bulk[upsert],
                items=(list[upsert], Field(min_length=1, max_length=self.max_bulk)),
            ),
            "bulk_result": create_model(
                f"{title}BulkResult",
                __base__=BulkResult[self.read],  # type: ignore[name-defined]
                skipped=(list[uuid.UUID], Field(description=f"Ids left unchanged: {skipped}")),
            ),
        }
        for name, schema in derived.items():
            object.__setattr__(self, name, schema)
        if not self.idempotency_scope:
            object.__setattr__(self, "idempotency_scope", f"{self.plural}.create")
        _DECLARED[self.name] = self

    @property
    def owned(self) -> bool:
        """Each row is one user's."""
        return self.tenancy is Tenancy.USER

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The columns of the read schema, which pages are read from as plain rows."""
        return tuple(self.read.model_fields)

    @property
    def noun(self) -> str:
        return self.name.replace("_", " ")

    @property
    def not_found(self) -> str:
        return f"{self.noun.capitalize()} not found"

    def _check(self) -> None:
        declared = {
            "soft_delete": (self.soft_delete, issubclass(self.model, SoftDeleteMixin)),
            "versioned": (self.versioned, issubclass(self.model, VersionMixin)),
            "tenancy=user": (self.owned, "owner_id" in self.model.__table__.columns),
            "tenancy=org": (self.tenancy is Tenancy.ORG, "org_id" in self.model.__table__.columns),
        }
        for capability, (claimed, present) in declared.items():
            if claimed != present:
                raise TypeError(
                    f"{self.model.__name__}: {capability} is declared {claimed}, but the model "
                    f"{'lacks' if claimed else 'has'} its column"
                )
        missing = [name for name in self.read.model_fields if name not in self.model.__table__.c]
        if missing:
            # Pages are read as plain rows (no ORM objects): what is read must be a column; a
            # value derived from columns is a `computed_field` of the schema.
            raise TypeError(
                f"{self.read.__name__}: {', '.join(missing)} not columns of {self.model.__name__}"
            )
        if self.filter.Constants.model is not self.model:
            raise TypeError(f"{self.filter.__name__} filters another model")
        if self.owned and not issubclass(self.filter, OwnedFilter):
            raise TypeError(f"{self.filter.__name__} of an owned entity extends OwnedFilter")
        if self.tenancy is Tenancy.ORG and issubclass(self.filter, OwnedFilter):
            raise TypeError(f"{self.filter.__name__}: an organisation's rows have no owner_id")
