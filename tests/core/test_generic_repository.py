"""The generic repository on both databases, through the test-only notes feature."""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.errors import AlreadyExistsError
from app.core.pagination import PageRequest, SortKey
from app.core.repository import MAX_BIND_PARAMS
from tests.core import notes
from tests.core.notes import Note, NoteCreate, NoteRepository, NoteUpdate


@pytest.fixture
async def repository(connection: AsyncConnection, session: AsyncSession) -> NoteRepository:
    await notes.create_tables(connection)
    return NoteRepository(session)


async def add_notes(repository: NoteRepository, count: int, **values: object) -> list[Note]:
    return [await repository.create(NoteCreate(title=f"n{i}"), **values) for i in range(count)]


async def walk(
    repository: NoteRepository, sort: tuple[SortKey, ...], limit: int
) -> AsyncIterator[Note]:
    request = PageRequest(sort, limit=limit)
    while True:
        page = await repository.list_page(repository.select(), request)
        for note in page.items:
            yield note
        if page.next_keys is None:
            return
        request = PageRequest(sort, limit=limit, after=page.next_keys)


class TestSoftDelete:
    async def test_deleted_rows_are_hidden_until_restored(self, repository: NoteRepository) -> None:
        (note,) = await add_notes(repository, 1)

        await repository.soft_delete(note)
        hidden = await repository.get(note.id)
        shown = await repository.get(note.id, include_deleted=True)
        restored = await repository.restore(note)

        assert hidden is None
        assert shown is not None
        assert restored is not None
        assert restored.deleted_at is None
        assert restored.version == 3
        assert await repository.get(note.id) is not None

    async def test_count_skips_deleted_rows(self, repository: NoteRepository) -> None:
        first, _second = await add_notes(repository, 2)
        await repository.soft_delete(first)

        assert await repository.count(repository.select()) == 1
        assert await repository.count(repository.select(include_deleted=True)) == 2


class TestCompareAndSet:
    async def test_matching_version_writes_and_bumps(self, repository: NoteRepository) -> None:
        (note,) = await add_notes(repository, 1)

        updated = await repository.update(note, NoteUpdate(title="new"), expected_version=1)

        assert updated is not None
        assert (updated.title, updated.version) == ("new", 2)

    async def test_stale_version_writes_nothing(self, repository: NoteRepository) -> None:
        (note,) = await add_notes(repository, 1)
        await repository.update(note, NoteUpdate(rank=5))

        stale = await repository.update(note, NoteUpdate(title="lost"), expected_version=1)

        assert stale is None
        current = await repository.get(note.id)
        assert current is not None
        assert (current.title, current.rank, current.version) == ("n0", 5, 2)

    async def test_empty_update_with_stale_version_is_refused(
        self, repository: NoteRepository
    ) -> None:
        (note,) = await add_notes(repository, 1)

        assert await repository.update(note, NoteUpdate(), expected_version=9) is None
        assert await repository.update(note, NoteUpdate(), expected_version=1) is note


class TestCreate:
    async def test_unique_violation_is_already_exists(self, repository: NoteRepository) -> None:
        await repository.create(NoteCreate(title="a", code="same"))

        with pytest.raises(AlreadyExistsError, match="Note code already taken"):
            await repository.create(NoteCreate(title="b", code="same"))


class TestKeysetPaging:
    @pytest.mark.parametrize(
        "sort",
        [
            (SortKey("rank"),),
            (SortKey("rank", descending=True),),
            (SortKey("rank"), SortKey("title", descending=True)),
            (SortKey("title", descending=True), SortKey("rank")),
        ],
    )
    async def test_every_row_once_in_order_with_many_ties(
        self, repository: NoteRepository, sort: tuple[SortKey, ...]
    ) -> None:
        for rank in (1, 2):
            await add_notes(repository, 11, rank=rank)

        seen = [note async for note in walk(repository, sort, limit=4)]

        assert len(seen) == len({note.id for note in seen}) == 22
        reference = await repository.list_page(repository.select(), PageRequest(sort, limit=100))
        assert [note.id for note in seen] == [note.id for note in reference.items]

    async def test_offset_mode_reports_total(self, repository: NoteRepository) -> None:
        await add_notes(repository, 5)

        page = await repository.list_page(
            repository.select(), PageRequest((SortKey("rank"),), limit=2, offset=2)
        )

        assert (len(page.items), page.offset, page.total) == (2, 2, 5)
        assert page.next_keys is not None


class TestUpsertMany:
    async def test_creates_updates_and_guards(self, repository: NoteRepository) -> None:
        mine = (await add_notes(repository, 1, owner="alice"))[0]
        theirs = (await add_notes(repository, 1, owner="bob"))[0]
        deleted = (await add_notes(repository, 1, owner="alice"))[0]
        await repository.soft_delete(deleted)
        new_id = uuid.uuid4()

        result = await repository.upsert_many(
            [
                {"id": new_id, "title": "new", "owner": "alice"},
                {"id": mine.id, "title": "changed", "owner": "alice"},
                {"id": theirs.id, "title": "stolen", "owner": "alice"},
                {"id": deleted.id, "title": "revived", "owner": "alice"},
            ],
            update_columns=("title",),
            match_on=("owner",),
        )

        assert (result.created, result.updated) == (1, 1)
        written = {note.id: note for note in result.items}
        assert set(written) == {new_id, mine.id}
        assert (written[mine.id].title, written[mine.id].version) == ("changed", 2)
        assert written[new_id].version == 1
        untouched = await repository.get(theirs.id)
        assert untouched is not None
        assert (untouched.title, untouched.version) == (theirs.title, 1)

    async def test_batches_beyond_the_bind_parameter_limit(
        self, repository: NoteRepository
    ) -> None:
        rows = [{"title": f"bulk {n}"} for n in range(MAX_BIND_PARAMS // 5)]

        result = await repository.upsert_many(rows, update_columns=("title",))

        assert result.created == len(rows)
        assert await repository.count(repository.select()) == len(rows)
