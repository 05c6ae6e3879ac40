"""The contract every entity's standard routes keep, as one test class an entity's tests extend:

    class TestGizmoContract(EntityContract):
        entity = GIZMOS

        def payload(self) -> dict[str, object]:
            return {"name": "alpha", "qty": 42}

        def change(self) -> dict[str, object] | None:
            return {"name": "beta"}

What the tests need beyond the declaration is said in the members below; the rest (the URL,
required and server fields, sort fields, permissions, tenancy) comes from the entity. The
entity's own tests go in the same class or beside it; `make` stores rows for them. An
organisation's entity is tried by a `member` of a new organisation, under its URL.
"""

import uuid
from typing import Any, ClassVar

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.entity import Entity, Tenancy
from app.identity.models import Organisation, User
from tests.api_keys.factories import api_key
from tests.orgs.factories import join, member, org_api_key
from tests.users.factories import SignedIn, create_user, signed_in

AnyEntity = Entity[Any, Any, Any, Any]
BY_ID_ROUTES = [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/restore")]


class EntityContract:
    entity: ClassVar[AnyEntity]
    # A filter: (query parameter, its value, a field value it matches, one it does not).
    filter_case: ClassVar[tuple[str, str, object, object] | None] = None

    def payload(self) -> dict[str, object]:
        """A valid create body; unique fields get fresh values on each call."""
        raise NotImplementedError

    def change(self) -> dict[str, object] | None:
        """Fields and new values that a PATCH may set (None when no field may change)."""
        return None

    org_id: uuid.UUID | None = None

    @property
    def in_org(self) -> bool:
        return self.entity.tenancy is Tenancy.ORG

    @property
    def url(self) -> str:
        org = f"/orgs/{self.org_id}" if self.in_org else ""
        return f"/api/v1{org}/{self.entity.plural}"

    @pytest.fixture
    async def caller(self, client: AsyncClient, session: AsyncSession) -> SignedIn:
        if not self.in_org:
            return await signed_in(client, session)
        self.org_id = await new_organisation(session)
        return await member(client, session, self.org_id, "member")

    async def make(self, session: AsyncSession, owner: User, **fields: object) -> Any:
        """A row stored directly, from a valid create body (`fields` replacing some values):
        `owner`'s, or the caller's organisation's."""
        return await self._store(session, self._tenant(owner.id, self.org_id), fields)

    async def make_elsewhere(self, session: AsyncSession) -> Any:
        """A row of another tenant: another user's, or another organisation's."""
        other = await new_organisation(session) if self.in_org else None
        owner = None if self.in_org else (await create_user(session)).id
        return await self._store(session, self._tenant(owner, other), {})

    def _tenant(self, owner: uuid.UUID | None, org: uuid.UUID | None) -> dict[str, object]:
        column = self.entity.tenancy.column
        return {column: org if self.in_org else owner} if column else {}

    async def _store(
        self, session: AsyncSession, tenant: dict[str, object], fields: dict[str, object]
    ) -> Any:
        data = self.entity.create.model_validate({**self.payload(), **fields})
        row = self.entity.model(**data.model_dump(), **tenant)
        session.add(row)
        await session.commit()
        return row

    async def without_permissions(self, client: AsyncClient, session: AsyncSession) -> SignedIn:
        """Someone who reaches the entity's routes but holds no permission for them."""
        if not self.in_org:
            return await signed_in(client, session, roles=())
        assert self.org_id is not None
        return await member(client, session, self.org_id)

    # Create

    async def test_create_returns_201_with_location_and_etag(
        self, client: AsyncClient, caller: SignedIn
    ) -> None:
        body = self.payload()

        response = await client.post(self.url, json=body, headers=caller.headers)

        assert response.status_code == 201, response.text
        created = response.json()
        assert {key: created[key] for key in body} == body
        if self.entity.owned:
            assert created["owner_id"] == str(caller.user.id)
        if self.in_org:
            assert created["org_id"] == str(self.org_id)
        assert created["version"] == 1
        assert response.headers["ETag"] == '"1"'
        assert response.headers["Location"] == f"{self.url}/{created['id']}"

    async def test_create_refuses_server_fields(
        self, client: AsyncClient, caller: SignedIn
    ) -> None:
        column = self.entity.tenancy.column
        fields = ["id", "version", "created_at", *([column] if column else [])]
        for field in fields:
            body = {**self.payload(), field: None}

            response = await client.post(self.url, json=body, headers=caller.headers)

            assert response.status_code == 422
            assert response.json()["errors"][0]["loc"] == ["body", field]

    async def test_create_requires_the_required_fields(
        self, client: AsyncClient, caller: SignedIn
    ) -> None:
        required = [name for name, f in self.entity.create.model_fields.items() if f.is_required()]
        for field in required:
            body = self.payload()
            del body[field]

            response = await client.post(self.url, json=body, headers=caller.headers)

            assert response.status_code == 422
            assert response.json()["error_code"] == "VALIDATION_ERROR"

    async def test_idempotency_key_replays_the_first_response(
        self, client: AsyncClient, caller: SignedIn
    ) -> None:
        keyed, body = {**caller.headers, "Idempotency-Key": uuid.uuid4().hex}, self.payload()

        first = await client.post(self.url, json=body, headers=keyed)
        second = await client.post(self.url, json=body, headers=keyed)

        assert second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["Idempotent-Replayed"] == "true"

    # Get

    async def test_get_returns_it_with_etag(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        row = await self.make(session, caller.user)

        response = await client.get(f"{self.url}/{row.id}", headers=caller.headers)

        assert response.status_code == 200
        assert response.json()["id"] == str(row.id)
        assert response.headers["ETag"] == '"1"'

    async def test_get_unknown_id_is_404(self, client: AsyncClient, caller: SignedIn) -> None:
        response = await client.get(f"{self.url}/{uuid.uuid4()}", headers=caller.headers)

        assert response.status_code == 404
        assert response.json()["error_code"] == "NOT_FOUND"

    # Update

    async def test_if_match_update_bumps_the_version(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        change = self.change()
        if change is None:
            pytest.skip("no field of this entity may change")
        row = await self.make(session, caller.user)
        headers = {**caller.headers, "If-Match": '"1"'}

        response = await client.patch(f"{self.url}/{row.id}", json=change, headers=headers)

        assert response.status_code == 200, response.text
        assert {key: response.json()[key] for key in change} == change
        assert response.json()["version"] == 2
        assert response.headers["ETag"] == '"2"'

    async def test_stale_if_match_returns_412(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        row = await self.make(session, caller.user)
        headers = {**caller.headers, "If-Match": '"2"'}

        response = await client.patch(f"{self.url}/{row.id}", json={}, headers=headers)

        assert response.status_code == 412
        assert response.json()["error_code"] == "PRECONDITION_FAILED"

    async def test_update_refuses_an_unknown_field(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        row = await self.make(session, caller.user)

        response = await client.patch(
            f"{self.url}/{row.id}", json={"version": 5}, headers=caller.headers
        )

        assert response.status_code == 422

    # Delete and restore

    async def test_soft_delete_then_restore(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        row = await self.make(session, caller.user)
        url = f"{self.url}/{row.id}"

        assert (await client.delete(url, headers=caller.headers)).status_code == 204
        assert (await client.get(url, headers=caller.headers)).status_code == 404
        restored = await client.post(f"{url}/restore", headers=caller.headers)

        assert restored.status_code == 200
        assert (await client.get(url, headers=caller.headers)).status_code == 200

    # Lists

    async def test_offset_paging_with_total(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        for _ in range(3):
            await self.make(session, caller.user)

        response = await client.get(self.url, params={"limit": 2}, headers=caller.headers)

        page = response.json()
        assert (len(page["items"]), page["total"], page["offset"]) == (2, 3, 0)
        assert page["next_cursor"] is not None

    async def test_cursor_paging_visits_every_row_once(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        ids = {str((await self.make(session, caller.user)).id) for _ in range(5)}
        seen: list[str] = []
        params: dict[str, str | int] = {"limit": 2}

        while True:
            page = (await client.get(self.url, params=params, headers=caller.headers)).json()
            seen += [row["id"] for row in page["items"]]
            if page["next_cursor"] is None:
                break
            params = {"limit": 2, "cursor": page["next_cursor"]}

        assert len(seen) == len(set(seen)) == 5
        assert set(seen) == ids

    async def test_sorts_by_each_sortable_field(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        for _ in range(2):
            await self.make(session, caller.user)
        for field in self.entity.filter.sortable:
            for order_by in (field, f"-{field}"):
                params = {"order_by": order_by}

                response = await client.get(self.url, params=params, headers=caller.headers)

                assert response.status_code == 200, order_by
                assert len(response.json()["items"]) == 2

    async def test_unknown_sort_field_is_422(self, client: AsyncClient, caller: SignedIn) -> None:
        params = {"order_by": "version"}

        response = await client.get(self.url, params=params, headers=caller.headers)

        assert response.status_code == 422

    async def test_filters(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        if self.filter_case is None:
            pytest.skip("no filter of this entity's own to try")
        parameter, value, matching, other = self.filter_case
        field = parameter.split("__")[0]
        match = await self.make(session, caller.user, **{field: matching})
        await self.make(session, caller.user, **{field: other})

        response = await client.get(self.url, params={parameter: value}, headers=caller.headers)

        assert [row["id"] for row in response.json()["items"]] == [str(match.id)]

    async def test_created_at_range(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        row = await self.make(session, caller.user)
        since = row.created_at.isoformat()

        inside = await client.get(
            self.url, params={"created_at__gte": since}, headers=caller.headers
        )
        before = await client.get(
            self.url, params={"created_at__lt": since}, headers=caller.headers
        )

        assert [found["id"] for found in inside.json()["items"]] == [str(row.id)]
        assert before.json()["items"] == []

    # Bulk

    async def test_bulk_creates_and_updates(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        existing = await self.make(session, caller.user)
        rows = [self.payload(), {**self.payload(), "id": str(existing.id)}]

        response = await client.post(
            f"{self.url}/bulk", json={"items": rows}, headers=caller.headers
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["created"], body["updated"], body["skipped"]) == (1, 1, [])
        assert body["items"][1]["version"] == 2

    # Tenancy: another tenant's row answers 404 on every route, and bulk never writes it.

    @pytest.mark.parametrize(("method", "suffix"), BY_ID_ROUTES)
    async def test_another_tenants_row_is_404(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn, method: str, suffix: str
    ) -> None:
        if self.entity.tenancy is Tenancy.NONE:
            pytest.skip("every user reaches every row")
        row = await self.make_elsewhere(session)
        body: dict[str, object] | None = {} if method == "PATCH" else None

        url = f"{self.url}/{row.id}{suffix}"
        response = await client.request(method, url, json=body, headers=caller.headers)

        assert response.status_code == 404
        await session.refresh(row)
        assert (row.version, row.deleted_at) == (1, None)

    async def test_bulk_skips_another_tenants_rows(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        if self.entity.tenancy is Tenancy.NONE:
            pytest.skip("every user reaches every row")
        row = await self.make_elsewhere(session)
        rows = [{**self.payload(), "id": str(row.id)}]

        response = await client.post(
            f"{self.url}/bulk", json={"items": rows}, headers=caller.headers
        )

        assert response.json()["skipped"] == [str(row.id)]
        await session.refresh(row)
        assert row.version == 1

    # Permissions: reads need the read permission, writes the write one; an API key only what
    # its scopes allow.

    async def test_a_user_without_the_permission_gets_403(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        _nobody, headers = await self.without_permissions(client, session)
        read, write = self.entity.read_permission, self.entity.write_permission
        routes = [
            ("GET", "", read),
            ("GET", "/{id}", read),
            ("POST", "", write),
            ("POST", "/bulk", write),
            ("PATCH", "/{id}", write),
            ("DELETE", "/{id}", write),
            ("POST", "/{id}/restore", write),
        ]
        for method, suffix, permission in routes:
            path = suffix.format(id=uuid.uuid4())

            response = await client.request(method, f"{self.url}{path}", json={}, headers=headers)

            assert response.status_code == 403, (method, suffix)
            assert response.json()["error_code"] == "PERMISSION_DENIED"
            assert response.json()["detail"] == f"Missing permission: {permission}"

    async def test_a_read_only_api_key_reads_but_never_writes(
        self, client: AsyncClient, session: AsyncSession, caller: SignedIn
    ) -> None:
        if self.in_org:
            owner = await member(client, session, str(self.org_id), "owner")
            key = await org_api_key(client, owner, str(self.org_id), self.entity.read_permission)
        else:
            key = await api_key(client, caller, self.entity.read_permission)

        listed = await client.get(self.url, headers=key)
        created = await client.post(self.url, json=self.payload(), headers=key)

        assert listed.status_code == 200
        assert created.status_code == 403
        assert created.json()["detail"] == f"Missing permission: {self.entity.write_permission}"


async def new_organisation(session: AsyncSession) -> uuid.UUID:
    """An organisation stored directly, with an owner."""
    org = Organisation(name="Elsewhere", slug=f"org-{uuid.uuid4().hex[:12]}")
    session.add(org)
    await session.commit()
    await join(session, org.id, await create_user(session), "owner")
    return org.id
