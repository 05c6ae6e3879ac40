"""One unit of work per request, committed before the response is sent (real commits)."""

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.users.repository import UserRepository
from tests.assertions import assert_error
from tests.core.notes import Note
from tests.users.factories import create_user, unique_email


async def count_notes(engine: AsyncEngine, **where: object) -> int:
    statement = select(func.count()).select_from(Note).filter_by(**where)
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


class TestUnitOfWork:
    async def test_success_is_committed(
        self, committing_notes_client: AsyncClient, engine: AsyncEngine
    ) -> None:
        response = await committing_notes_client.post("/test-notes", json={"title": "kept"})

        assert response.status_code == 201
        assert await count_notes(engine, title="kept") == 1

    async def test_error_after_a_write_rolls_it_back(
        self, committing_notes_client: AsyncClient, engine: AsyncEngine
    ) -> None:
        response = await committing_notes_client.post(
            "/test-notes/then-fail", json={"title": "lost"}
        )

        assert response.status_code == 500
        assert await count_notes(engine, title="lost") == 0

    async def test_failed_commit_never_answers_2xx(
        self, committing_notes_client: AsyncClient, engine: AsyncEngine
    ) -> None:
        # The deferred foreign key is only checked at COMMIT, after the handler returned 201.
        response = await committing_notes_client.post(
            "/test-notes", json={"title": "orphan", "parent_id": str(uuid.uuid4())}
        )

        assert_error(response, 409, "CONFLICT")
        assert await count_notes(engine, title="orphan") == 0

    async def test_validation_error_writes_nothing(
        self, committing_notes_client: AsyncClient, engine: AsyncEngine
    ) -> None:
        response = await committing_notes_client.post("/test-notes", json={"title": ""})

        assert response.status_code == 422
        assert await count_notes(engine) == 0


class TestReleasingTheConnectionEarly:
    """`Repository.release_connection` ends the transaction before a slow step (login's
    password check); it refuses once the unit of work wrote, which it would roll back."""

    async def test_after_reads_only_it_releases(self, session: AsyncSession) -> None:
        repository = UserRepository(session)
        await repository.get_by_email(unique_email())

        await repository.release_connection()

        assert not session.in_transaction()

    async def test_after_an_update_statement_it_refuses(self, session: AsyncSession) -> None:
        user = await create_user(session)
        repository = UserRepository(session)
        await repository.compare_and_set(user, {"full_name": "written"})

        with pytest.raises(RuntimeError, match="would roll back"):
            await repository.release_connection()

    async def test_after_a_flushed_insert_it_refuses(self, session: AsyncSession) -> None:
        repository = UserRepository(session)
        await repository.create(email=unique_email(), hashed_password="x")

        with pytest.raises(RuntimeError, match="would roll back"):
            await repository.release_connection()

    async def test_with_an_unflushed_change_it_refuses(self, session: AsyncSession) -> None:
        user = await create_user(session)
        user.full_name = "pending"

        with pytest.raises(RuntimeError, match="would roll back"):
            await UserRepository(session).release_connection()
