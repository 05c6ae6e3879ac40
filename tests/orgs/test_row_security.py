"""The second wall, on PostgreSQL: with the app connected as a role that row-level security
binds (not a superuser, the tables' owner, the policies `FORCE`d), an organisation's rows are
out of reach of any other organisation's unit of work, even through a query that forgets the
organisation filter."""

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from alembic import command
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.migrations import alembic_config
from app.core.state import CoreState
from app.core.tenancy import bind_tenant
from app.projects.models import Project
from app.projects.repository import ProjectRepository
from tests.conftest import http_client, running_app
from tests.orgs.factories import ORGS
from tests.users.factories import DEFAULT_PASSWORD, bearer, login, unique_email

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)


@pytest.fixture(scope="module")
async def tenant_role_url() -> AsyncIterator[str]:
    """A database owned by a new role that is no superuser, migrated by it."""
    server = make_url(os.environ["TEST_DATABASE_URL"])
    role, database = f"app_tenant_{uuid.uuid4().hex[:8]}", f"app_rls_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
        await connection.execute(text(f'CREATE DATABASE "{database}" OWNER "{role}"'))
    url = server.set(username=role, database=database).render_as_string(hide_password=False)
    try:
        engine = create_engine(Settings(_env_file=None, database_url=url))
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync: command.upgrade(
                    alembic_config(Settings(_env_file=None, database_url=url), connection=sync),
                    "head",
                )
            )
        await engine.dispose()
        yield url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            await connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        await admin.dispose()


@pytest.fixture
async def tenant_client(settings: Settings, tenant_role_url: str) -> AsyncIterator[AsyncClient]:
    async with (
        running_app(settings.model_copy(update={"database_url": tenant_role_url})) as app,
        http_client(app) as client,
    ):
        yield client


async def signed_up(client: AsyncClient) -> dict[str, str]:
    email = unique_email()
    body = {"email": email, "password": DEFAULT_PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    return bearer(await login(client, email))


async def org_with_project(client: AsyncClient) -> tuple[dict[str, str], str, str]:
    headers = await signed_up(client)
    org = (await client.post(ORGS, json={"name": "Walled"}, headers=headers)).json()["id"]
    created = await client.post(f"{ORGS}/{org}/projects", json={"name": "secret"}, headers=headers)
    assert created.status_code == 201, created.text
    return headers, org, created.json()["id"]


async def test_every_route_works_under_the_policies(tenant_client: AsyncClient) -> None:
    headers, org, project = await org_with_project(tenant_client)
    url = f"{ORGS}/{org}/projects"

    listed = await tenant_client.get(url, headers=headers)
    got = await tenant_client.get(f"{url}/{project}", headers=headers)
    changed = await tenant_client.patch(f"{url}/{project}", json={"name": "new"}, headers=headers)
    bulk = await tenant_client.post(
        f"{url}/bulk",
        json={"items": [{"name": "more"}, {"id": project, "name": "x"}]},
        headers=headers,
    )
    deleted = await tenant_client.delete(f"{url}/{project}", headers=headers)
    restored = await tenant_client.post(f"{url}/{project}/restore", headers=headers)
    org_deleted = await tenant_client.delete(f"{ORGS}/{org}", headers=headers)

    assert [row["id"] for row in listed.json()["items"]] == [project]
    assert (got.status_code, changed.status_code, bulk.status_code) == (200, 200, 200)
    assert (bulk.json()["created"], bulk.json()["updated"]) == (1, 1)
    assert (deleted.status_code, restored.status_code, org_deleted.status_code) == (204, 200, 204)


async def test_a_query_without_the_organisation_filter_sees_only_its_own(
    tenant_client: AsyncClient, tenant_role_url: str
) -> None:
    _, ours, our_project = await org_with_project(tenant_client)
    _, theirs, their_project = await org_with_project(tenant_client)
    engine = create_engine(Settings(_env_file=None, database_url=tenant_role_url))
    state = CoreState()
    state.row_security = None
    try:
        async with create_sessionmaker(engine)() as session:
            unbound = await _every_project(session)
            await bind_tenant(state, session, uuid.UUID(ours))
            bound = await _every_project(session)
            await session.rollback()
            # Writing another organisation's row is refused too (the policy's WITH CHECK).
            await bind_tenant(state, session, uuid.UUID(ours))
            session.add(Project(name="planted", org_id=uuid.UUID(theirs)))
            with pytest.raises(DBAPIError, match="row-level security"):
                await session.flush()
    finally:
        await engine.dispose()

    assert state.row_security is True
    assert unbound == []
    assert bound == [uuid.UUID(our_project)]
    assert uuid.UUID(their_project) not in bound


async def _every_project(session: AsyncSession) -> list[uuid.UUID]:
    """A repository query that forgets the organisation: `visible(None)` filters nothing."""
    statement = ProjectRepository(session).visible(None)
    return [project.id for project in await session.scalars(statement)]
