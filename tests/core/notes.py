"""A test-only feature built on the core bases, to prove them through HTTP.

Its tables live on their own `MetaData`, are created inside each test's transaction, and so never
reach the migrations or the drift check.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status
from pydantic import Field
from sqlalchemy import ForeignKey, MetaData, String
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import SessionDep
from app.core.errors import NotFoundError, PreconditionFailedError
from app.core.models import (
    NAMING_CONVENTION,
    Base,
    SoftDeleteMixin,
    TimestampMixin,
    UUIDPrimaryKeyMixin,
    VersionMixin,
)
from app.core.repository import Repository
from app.core.schemas import RequestSchema, ResponseSchema


class NotesBase(Base):
    __abstract__ = True
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Note(NotesBase, UUIDPrimaryKeyMixin, TimestampMixin, SoftDeleteMixin, VersionMixin):
    __tablename__ = "test_notes"

    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(50), default="alice")
    rank: Mapped[int] = mapped_column(default=0)
    code: Mapped[str | None] = mapped_column(String(50), unique=True, default=None)
    # Checked at COMMIT, which lets a test make the commit itself fail.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("test_notes.id", deferrable=True, initially="DEFERRED"), default=None
    )


async def create_tables(connection: AsyncConnection) -> None:
    await connection.run_sync(NotesBase.metadata.create_all)


async def drop_tables(connection: AsyncConnection) -> None:
    await connection.run_sync(NotesBase.metadata.drop_all)


class NoteCreate(RequestSchema):
    title: str = Field(min_length=1, max_length=200)
    rank: int = 0
    code: str | None = None
    parent_id: uuid.UUID | None = None


class NoteUpdate(RequestSchema):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    rank: int | None = None


class NoteRead(ResponseSchema):
    id: uuid.UUID
    title: str
    rank: int
    version: int


class NoteRepository(Repository[Note, NoteCreate, NoteUpdate]):
    model = Note
    already_exists_message = "Note code already taken"


async def get_repository(session: SessionDep) -> NoteRepository:
    return NoteRepository(session)


RepositoryDep = Annotated[NoteRepository, Depends(get_repository)]
router = APIRouter(prefix="/test-notes")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=NoteRead)
async def create_note(data: NoteCreate, repository: RepositoryDep) -> Note:
    return await repository.create(data)


@router.post("/then-fail", status_code=status.HTTP_201_CREATED, response_model=NoteRead)
async def create_note_then_fail(data: NoteCreate, repository: RepositoryDep) -> Note:
    await repository.create(data)
    raise RuntimeError("boom: SELECT secret FROM internals")


@router.get("/{note_id}", response_model=NoteRead)
async def get_note(note_id: uuid.UUID, repository: RepositoryDep, response: Response) -> Note:
    note = await repository.get(note_id)
    if note is None:
        raise NotFoundError("Note not found")
    response.headers["ETag"] = f'"{note.version}"'
    return note


@router.patch("/{note_id}", response_model=NoteRead)
async def update_note(
    note_id: uuid.UUID,
    data: NoteUpdate,
    repository: RepositoryDep,
    if_match: Annotated[int | None, Header()] = None,
) -> Note:
    note = await repository.get(note_id)
    if note is None:
        raise NotFoundError("Note not found")
    updated = await repository.update(note, data, expected_version=if_match)
    if updated is None:
        raise PreconditionFailedError()
    return updated
