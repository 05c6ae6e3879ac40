"""One unit of work per request, committed before the response is sent (real commits)."""

import uuid

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.assertions import assert_error
from tests.core.notes import Note


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
