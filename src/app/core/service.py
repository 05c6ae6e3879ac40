"""The base of feature services: the rules every entity shares, free of SQL and HTTP."""

import uuid
from dataclasses import dataclass, field
from typing import ClassVar, Generic

from app.core.errors import NotFoundError, PreconditionFailedError, PreconditionRequiredError
from app.core.etag import IfMatch
from app.core.repository import CreateT, ModelT, Repository, UpdateT


@dataclass(frozen=True)
class Created(Generic[ModelT]):
    """A created entity; `replayed` when it is the stored first response to a retried request."""

    entity: ModelT
    replayed: bool = False


@dataclass(frozen=True)
class BulkOutcome(Generic[ModelT]):
    """What a bulk upsert did: counts, the ids it left alone, and the rows it wrote."""

    created: int
    updated: int
    skipped: list[uuid.UUID] = field(default_factory=list)
    items: list[ModelT] = field(default_factory=list)


class Service(Generic[ModelT, CreateT, UpdateT]):
    """Holds the feature's repository; turns missing rows into 404 and stale versions into 412."""

    not_found_message: ClassVar[str] = "Not found"

    def __init__(self, repository: Repository[ModelT, CreateT, UpdateT], *, require_if_match: bool):
        self.repository = repository
        self.require_if_match = require_if_match

    def found_or_404(self, entity: ModelT | None) -> ModelT:
        if entity is None:
            raise NotFoundError(self.not_found_message)
        return entity

    def expected_version(self, version: int, if_match: IfMatch | None) -> int | None:
        """The version a write must still find, from the client's `If-Match` (None: any)."""
        if if_match is None:
            if self.require_if_match:
                raise PreconditionRequiredError()
            return None
        if not if_match.matches(version):
            raise PreconditionFailedError()
        return version

    def written_or_412(self, entity: ModelT | None, expected: int | None) -> ModelT:
        """The row a compare-and-set wrote; when nothing matched it changed since or is gone."""
        if entity is None and expected is not None:
            raise PreconditionFailedError()
        return self.found_or_404(entity)
