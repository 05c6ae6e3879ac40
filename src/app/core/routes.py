"""The routes every entity shares, each mounted by one line of the feature's `router.py`."""

import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

from annotated_types import MaxLen
from fastapi import APIRouter, Depends, Query, Request, Response, params, status
from pydantic import BaseModel

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
from app.core.request import IdempotencyKeyHeader, IfMatchDep, location
from app.core.service import Caller, EntityService

Handler = Callable[..., Awaitable[Any]]
AnyEntityService = EntityService[Any, Any, Any]

BY_ID_ERRORS = error_responses(NotFoundError)
WRITE_ERRORS = error_responses(NotFoundError, PreconditionFailedError, PreconditionRequiredError)


@dataclass(frozen=True)
class EntitySchemas:
    """What an entity's standard routes read and answer."""

    read: type[BaseModel]
    create: type[BaseModel]
    update: type[BaseModel]
    page: type[BaseModel]
    bulk: type[BaseModel]
    bulk_result: type[BaseModel]


@dataclass(frozen=True)
class EntityRoutes:
    """Mounts the standard routes of one entity on its feature's router: one method per route,
    so `router.py` lists each route on a line of its own and replaces any of them by deleting
    the line and writing its own handler.

    Handler names, which are the OpenAPI operation ids, follow the entity: `create_item`,
    `list_items`, `bulk_upsert_items`, `get_item`, `update_item`, `delete_item`, `restore_item`.
    `service` is the dependency that gives the feature's service, `query` the feature's
    `<Entity>ListQuery`; `read` and `write` give the caller of the reading and the writing routes
    (`require("items:read")`, `require("items:write")`).
    """

    router: APIRouter
    name: str
    plural: str
    service: Callable[..., Awaitable[AnyEntityService]]
    schemas: EntitySchemas
    query: object
    read: params.Depends
    write: params.Depends

    def create(self) -> None:
        get_route, id_name = f"get_{self.name}", self.id_name

        async def create(
            data: BaseModel,
            caller: Caller,
            service: AnyEntityService,
            request: Request,
            response: Response,
            idempotency_key: str | None,
        ) -> Any:
            created = await service.create(caller, data, idempotency_key=idempotency_key)
            response.headers["Location"] = location(request, get_route, **{id_name: created.id})
            if created.replayed:
                response.headers["Idempotent-Replayed"] = "true"
            _tag(response, created.version)
            return created.body

        self._mount(
            create,
            "POST",
            "",
            f"create_{self.name}",
            f"Create {self.one}; `Location` and `ETag` name the new version.",
            [self._body(self.schemas.create), *self._writer, _request, _response, _idempotency_key],
            status_code=status.HTTP_201_CREATED,
            response_model=self.schemas.read,
            responses=error_responses(ConflictError),
        )

    def list_page(self) -> None:
        async def list_page(
            caller: Caller, service: AnyEntityService, query: Any, include_deleted: bool
        ) -> Any:
            page = await service.list_page(
                caller, query.filters, query.page, include_deleted=include_deleted
            )
            return query.signed(page)

        scope = f"The caller's {self.words} (everyone's for superusers)"
        self._mount(
            list_page,
            "GET",
            "",
            f"list_{self.plural}",
            f"{scope if self.owned else self.words.capitalize()}, filtered, sorted and paged.",
            [*self._reader, _param("query", self.query), _include_deleted],
            response_model=self.schemas.page,
            responses=error_responses(ForbiddenError, PermissionDeniedError),
        )

    def bulk_upsert(self) -> None:
        async def bulk_upsert(data: BaseModel, caller: Caller, service: AnyEntityService) -> Any:
            return await service.bulk_upsert(caller, cast(Any, data))

        skipped = "; others' ids are skipped" if self.owned else ""
        self._mount(
            bulk_upsert,
            "POST",
            "/bulk",
            f"bulk_upsert_{self.plural}",
            f"Create or update up to {_max_rows(self.schemas.bulk)} {self.words} in one "
            f"statement{skipped}.",
            [self._body(self.schemas.bulk), *self._writer],
            response_model=self.schemas.bulk_result,
        )

    def get(self) -> None:
        async def get(
            entity_id: uuid.UUID, caller: Caller, service: AnyEntityService, response: Response
        ) -> Any:
            return _tagged(response, await service.get(caller, entity_id))

        self._mount(
            get,
            "GET",
            self.by_id,
            f"get_{self.name}",
            f"One {self.noun}, with its `ETag`.",
            [self._id, *self._reader, _response],
            response_model=self.schemas.read,
            responses=BY_ID_ERRORS,
        )

    def update(self) -> None:
        async def update(
            entity_id: uuid.UUID,
            data: BaseModel,
            caller: Caller,
            service: AnyEntityService,
            response: Response,
            if_match: Any,
        ) -> Any:
            return _tagged(
                response, await service.update(caller, entity_id, data, if_match=if_match)
            )

        self._mount(
            update,
            "PATCH",
            self.by_id,
            f"update_{self.name}",
            "Partial update; `version` goes up by one. With `If-Match`, 412 if it changed since.",
            [self._id, self._body(self.schemas.update), *self._writer, _response, _if_match],
            response_model=self.schemas.read,
            responses=WRITE_ERRORS,
        )

    def delete(self) -> None:
        async def delete(
            entity_id: uuid.UUID, caller: Caller, service: AnyEntityService, if_match: Any
        ) -> None:
            await service.delete(caller, entity_id, if_match=if_match)

        self._mount(
            delete,
            "DELETE",
            self.by_id,
            f"delete_{self.name}",
            f"Soft delete: the {self.noun} disappears from reads until restored.",
            [self._id, *self._writer, _if_match],
            status_code=status.HTTP_204_NO_CONTENT,
            response_model=None,
            responses=WRITE_ERRORS,
        )

    def restore(self) -> None:
        async def restore(
            entity_id: uuid.UUID, caller: Caller, service: AnyEntityService, response: Response
        ) -> Any:
            return _tagged(response, await service.restore(caller, entity_id))

        self._mount(
            restore,
            "POST",
            f"{self.by_id}/restore",
            f"restore_{self.name}",
            f"Bring back a soft-deleted {self.noun}.",
            [self._id, *self._writer, _response],
            response_model=self.schemas.read,
            responses=BY_ID_ERRORS,
        )

    @property
    def id_name(self) -> str:
        return f"{self.name}_id"

    @property
    def by_id(self) -> str:
        return f"/{{{self.id_name}:uuid}}"

    @property
    def noun(self) -> str:
        return self.name.replace("_", " ")

    @property
    def one(self) -> str:
        return f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}"

    @property
    def words(self) -> str:
        return self.plural.replace("_", " ")

    @property
    def owned(self) -> bool:
        return "owner_id" in self.schemas.read.model_fields

    @property
    def _id(self) -> inspect.Parameter:
        return _param(self.id_name, uuid.UUID)

    @property
    def _reader(self) -> tuple[inspect.Parameter, inspect.Parameter]:
        return self._who(self.read)

    @property
    def _writer(self) -> tuple[inspect.Parameter, inspect.Parameter]:
        return self._who(self.write)

    def _who(self, caller: params.Depends) -> tuple[inspect.Parameter, inspect.Parameter]:
        return (
            _param("caller", Annotated[Caller, caller]),
            _param("service", Annotated[AnyEntityService, Depends(self.service)]),
        )

    @staticmethod
    def _body(schema: type[BaseModel]) -> inspect.Parameter:
        return _param("data", schema)

    def _mount(
        self,
        handler: Handler,
        method: str,
        path: str,
        name: str,
        description: str,
        parameters: list[inspect.Parameter],
        **options: Any,
    ) -> None:
        """Route `handler` under `name`, with `parameters` as the signature FastAPI reads (the
        path parameter is named after the entity; the handler knows it as `entity_id`)."""

        id_name = self.id_name

        async def endpoint(**values: Any) -> Any:
            if id_name in values:
                values["entity_id"] = values.pop(id_name)
            return await handler(**values)

        cast(Any, endpoint).__signature__ = inspect.Signature(parameters)
        endpoint.__name__ = endpoint.__qualname__ = name
        self.router.add_api_route(
            path, endpoint, methods=[method], name=name, description=description, **options
        )


def _param(
    name: str, annotation: object, default: object = inspect.Parameter.empty
) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _tag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def _tagged(response: Response, entity: Any) -> Any:
    _tag(response, entity.version)
    return entity


def _max_rows(bulk: type[BaseModel]) -> int:
    limits = [m.max_length for m in bulk.model_fields["items"].metadata if isinstance(m, MaxLen)]
    return limits[0]


_request = _param("request", Request)
_response = _param("response", Response)
_idempotency_key = _param("idempotency_key", IdempotencyKeyHeader, None)
_if_match = _param("if_match", IfMatchDep)
_include_deleted = _param(
    "include_deleted", Annotated[bool, Query(description="Superusers only")], False
)
