"""The routes every entity shares, each mounted by one line of the feature's `router.py`."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic

from fastapi import APIRouter, Depends, Path, Query, Request, Response, params, status

from app.core.entity import Entity, Tenancy
from app.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    PreconditionRequiredError,
    error_responses,
)
from app.core.etag import etag
from app.core.filters import ListFilter, ListQuery, list_query
from app.core.models import ModelT
from app.core.pagination import PageResult, Record
from app.core.request import IdempotencyKeyHeader, IfMatchDep, created_location
from app.core.schemas import Bulk, CreateT, ReadT, UpdateT
from app.core.service import BulkOutcome, Caller, EntityService

BY_ID_ERRORS = error_responses(NotFoundError)
WRITE_ERRORS = error_responses(NotFoundError, PreconditionFailedError, PreconditionRequiredError)
SUPERUSERS_ONLY = Query(description="Superusers only")


class EntityRoutes(Generic[ModelT, CreateT, UpdateT, ReadT]):
    """Mounts the standard routes of one entity on its feature's router: one method per route,
    so `router.py` lists each route on a line of its own and replaces any of them by deleting
    the line and writing its own handler.

    Route names, which are the OpenAPI operation ids, follow the entity: `create_item`,
    `list_items`, `bulk_upsert_items`, `get_item`, `update_item`, `delete_item`, `restore_item`.
    `service` is the dependency that gives the feature's service; `caller` turns a permission
    into the dependency of the caller who holds it (`require`).

    Each handler is written out below with its parameters; the one thing set per entity is the
    type of a request body (`data`), which FastAPI reads to validate and document it.
    """

    def __init__(
        self,
        router: APIRouter,
        entity: Entity[ModelT, CreateT, UpdateT, ReadT],
        *,
        service: Callable[..., Awaitable[EntityService[ModelT, CreateT, UpdateT, ReadT]]],
        caller: Callable[[str], params.Depends],
    ):
        self.router = router
        self.entity = entity
        self.service = Depends(service)
        self.reader = caller(entity.read_permission)
        self.writer = caller(entity.write_permission)
        self.query = list_query(entity.filter)
        self.entity_id = Path(alias=self.id_name, title=self.id_name.title().replace("_", " "))

    def create(self) -> None:
        async def create(
            *,
            data: CreateT,
            caller: Annotated[Caller, self.writer],
            service: Annotated[EntityService[ModelT, CreateT, UpdateT, ReadT], self.service],
            request: Request,
            response: Response,
            idempotency_key: IdempotencyKeyHeader = None,
        ) -> object:
            created = await service.create(caller, data, idempotency_key=idempotency_key)
            response.headers["Location"] = created_location(request, created.id)
            if created.replayed:
                response.headers["Idempotent-Replayed"] = "true"
            self._tag(response, created.version)
            return created.body

        self._mount(
            create,
            "POST",
            "",
            f"create_{self.entity.name}",
            f"Create {self.one}; `Location` and `ETag` name the new version.",
            body=self.entity.create,
            status_code=status.HTTP_201_CREATED,
            response_model=self.entity.read,
            responses=error_responses(ConflictError),
        )

    def list_page(self) -> None:
        async def list_page(
            *,
            caller: Annotated[Caller, self.reader],
            service: Annotated[EntityService[ModelT, CreateT, UpdateT, ReadT], self.service],
            query: Annotated[ListQuery[ListFilter], self.query],
            include_deleted: Annotated[bool, SUPERUSERS_ONLY] = False,
        ) -> PageResult[Record]:
            page = await service.list_page(
                caller, query.filters, query.page, include_deleted=include_deleted
            )
            return query.signed(page)

        scope = {
            Tenancy.USER: f"The caller's {self.words} (everyone's for superusers)",
            Tenancy.ORG: f"The organisation's {self.words}",
        }.get(self.entity.tenancy, self.words.capitalize())
        self._mount(
            list_page,
            "GET",
            "",
            f"list_{self.entity.plural}",
            f"{scope}, filtered, sorted and paged.",
            response_model=self.entity.page,
            responses=error_responses(ForbiddenError, PermissionDeniedError),
        )

    def bulk_upsert(self) -> None:
        async def bulk_upsert(
            *,
            data: Bulk[CreateT],
            caller: Annotated[Caller, self.writer],
            service: Annotated[EntityService[ModelT, CreateT, UpdateT, ReadT], self.service],
        ) -> BulkOutcome[ModelT]:
            return await service.bulk_upsert(caller, data)

        skipped = "" if self.entity.tenancy is Tenancy.NONE else "; others' ids are skipped"
        self._mount(
            bulk_upsert,
            "POST",
            "/bulk",
            f"bulk_upsert_{self.entity.plural}",
            f"Create or update up to {self.entity.max_bulk} {self.words} in one "
            f"statement{skipped}.",
            body=self.entity.bulk,
            response_model=self.entity.bulk_result,
        )

    def get(self) -> None:
        async def get(
            *,
            entity_id: Annotated[uuid.UUID, self.entity_id],
            caller: Annotated[Caller, self.reader],
            service: Annotated[EntityService[ModelT, CreateT, UpdateT, ReadT], self.service],
            response: Response,
        ) -> ModelT:
            return self._tagged(response, await service.get(caller, entity_id))

        self._mount(
            get,
            "GET",
            self.by_id,
            f"get_{self.entity.name}",
            f"One {self.entity.noun}, with its `ETag`.",
            response_model=self.entity.read,
            responses=BY_ID_ERRORS,
        )

    def update(self) -> None:
        async def update(
            *,
            entity_id: Annotated[uuid.UUID, self.entity_id],
            data: UpdateT,
            caller: Annotated[Caller, self.writer],
            service: Annotated[EntityService[ModelT, CreateT, UpdateT, ReadT], self.service],
            response: Response,
            if_match: IfMatchDep,
        ) -> ModelT:
            updated = await service.update(caller, entity_id, data, if_match=if_match)
            return self._tagged(response, updated)

        self._mount(
            update,
            "PATCH",
            self.by_id,
            f"update_{self.entity.name}",
            "Partial update; `version` goes up by one. With `If-Match`, 412 if it changed since.",
            body=self.entity.update,
            response_model=self.entity.read,
            responses=WRITE_ERRORS,
        )

    def delete(self) -> None:
        async def delete(
            *,
            entity_id: Annotated[uuid.UUID, self.entity_id],
            caller: Annotated[Caller, self.writer],
            service: Annotated[EntityService[ModelT, CreateT, UpdateT, ReadT], self.service],
            if_match: IfMatchDep,
        ) -> None:
            await service.delete(caller, entity_id, if_match=if_match)

        gone = "disappears from reads until restored" if self.entity.soft_delete else "is removed"
        self._mount(
            delete,
            "DELETE",
            self.by_id,
            f"delete_{self.entity.name}",
            f"{'Soft delete' if self.entity.soft_delete else 'Delete'}: the {self.entity.noun} "
            f"{gone}.",
            status_code=status.HTTP_204_NO_CONTENT,
            response_model=None,
            responses=WRITE_ERRORS,
        )

    def restore(self) -> None:
        if not self.entity.soft_delete:
            raise TypeError(f"{self.entity.plural} are not soft-deleted: nothing to restore")

        async def restore(
            *,
            entity_id: Annotated[uuid.UUID, self.entity_id],
            caller: Annotated[Caller, self.writer],
            service: Annotated[EntityService[ModelT, CreateT, UpdateT, ReadT], self.service],
            response: Response,
        ) -> ModelT:
            return self._tagged(response, await service.restore(caller, entity_id))

        self._mount(
            restore,
            "POST",
            f"{self.by_id}/restore",
            f"restore_{self.entity.name}",
            f"Bring back a soft-deleted {self.entity.noun}.",
            response_model=self.entity.read,
            responses=BY_ID_ERRORS,
        )

    @property
    def id_name(self) -> str:
        return f"{self.entity.name}_id"

    @property
    def by_id(self) -> str:
        return f"/{{{self.id_name}:uuid}}"

    @property
    def one(self) -> str:
        noun = self.entity.noun
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"

    @property
    def words(self) -> str:
        return self.entity.plural.replace("_", " ")

    def _tag(self, response: Response, version: int) -> None:
        if self.entity.versioned:
            response.headers["ETag"] = etag(version)

    def _tagged(self, response: Response, entity: ModelT) -> ModelT:
        self._tag(response, getattr(entity, "version", 0))
        return entity

    def _mount(
        self,
        handler: Callable[..., Awaitable[object]],
        method: str,
        path: str,
        name: str,
        description: str,
        *,
        body: type[object] | None = None,
        **options: Any,
    ) -> None:
        if body is not None:
            # `data: CreateT` reads well and type-checks; FastAPI needs the entity's own class.
            handler.__annotations__["data"] = body
        self.router.add_api_route(
            path, handler, methods=[method], name=name, description=description, **options
        )
