"""Items over HTTP: CRUD, ETag/If-Match, soft delete and restore, ownership."""

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.assertions import assert_error
from tests.items.factories import create_item, item_count
from tests.users.factories import SignedIn, bearer, create_user, login, signed_in

ITEMS = "/api/v1/items"


class TestCreateItem:
    async def test_returns_201_with_location_and_etag(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        user, headers = owner

        response = await client.post(
            ITEMS, json={"title": "First", "description": "d"}, headers=headers
        )

        assert response.status_code == 201
        body = response.json()
        assert body["title"] == "First"
        assert body["owner_id"] == str(user.id)
        assert body["version"] == 1
        assert body["is_active"] is True
        assert body["created_at"].endswith("Z")
        assert response.headers["Location"] == f"{ITEMS}/{body['id']}"
        assert response.headers["ETag"] == '"1"'
        fetched = await client.get(response.headers["Location"], headers=headers)
        assert fetched.json() == body

    async def test_location_never_reflects_the_host_header(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        headers = {**owner[1], "Host": "evil.example"}

        response = await client.post(ITEMS, json={"title": "t"}, headers=headers)

        assert response.status_code == 201
        assert response.headers["Location"] == f"{ITEMS}/{response.json()['id']}"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("owner_id", str(uuid.uuid4())),
            ("version", 7),
            ("id", str(uuid.uuid4())),
            ("created_at", "2020-01-01T00:00:00Z"),
            ("deleted_at", None),
        ],
    )
    async def test_mass_assignment_is_refused(
        self, client: AsyncClient, owner: SignedIn, field: str, value: object
    ) -> None:
        _user, headers = owner

        response = await client.post(ITEMS, json={"title": "x", field: value}, headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", field]

    @pytest.mark.parametrize(
        "body",
        [
            {"title": ""},
            {"title": "x" * 201},
            {"title": "x", "description": "d" * 10_001},
            {},
            {"title": "x", "is_active": "false"},
            {"title": "x", "is_active": 0},
            {"title": 5},
        ],
    )
    async def test_field_limits(
        self, client: AsyncClient, owner: SignedIn, body: dict[str, object]
    ) -> None:
        _user, headers = owner

        response = await client.post(ITEMS, json=body, headers=headers)

        assert_error(response, 422, "VALIDATION_ERROR")

    async def test_requires_authentication(self, client: AsyncClient) -> None:
        response = await client.post(ITEMS, json={"title": "x"})

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


class TestGetItem:
    async def test_returns_the_item_with_etag(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)

        response = await client.get(f"{ITEMS}/{item.id}", headers=headers)

        assert response.status_code == 200
        assert response.json()["id"] == str(item.id)
        assert response.headers["ETag"] == '"1"'

    async def test_superuser_sees_any_item(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        other = await create_user(session)
        item = await create_item(session, owner=other)
        _admin, admin_headers = await signed_in(client, session, is_superuser=True)

        response = await client.get(f"{ITEMS}/{item.id}", headers=admin_headers)

        assert response.status_code == 200

    async def test_unknown_id_is_404(self, client: AsyncClient, owner: SignedIn) -> None:
        _user, headers = owner

        response = await client.get(f"{ITEMS}/{uuid.uuid4()}", headers=headers)

        assert response.status_code == 404
        assert response.json() | {"correlation_id": None, "timestamp": None} == {
            "detail": "Item not found",
            "error_code": "NOT_FOUND",
            "correlation_id": None,
            "timestamp": None,
        }


class TestUpdateItem:
    async def test_partial_update_bumps_version(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user, title="old", description="keep")

        response = await client.patch(f"{ITEMS}/{item.id}", json={"title": "new"}, headers=headers)

        assert response.status_code == 200
        body = response.json()
        assert body["title"] == "new"
        assert body["description"] == "keep"
        assert body["version"] == 2
        assert response.headers["ETag"] == '"2"'
        assert body["updated_at"] > body["created_at"]

    async def test_matching_if_match_succeeds(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)

        response = await client.patch(
            f"{ITEMS}/{item.id}", json={"is_active": False}, headers={**headers, "If-Match": '"1"'}
        )

        assert response.status_code == 200
        assert response.json()["is_active"] is False

    # RFC 9110 §13.1.1: `If-Match` compares strongly, so the weak form of the current tag fails.
    @pytest.mark.parametrize("tag", ['"2"', '"0"', "garbage", 'W/"9"', 'W/"1"', '"7", W/"1"'])
    async def test_stale_if_match_returns_412(
        self,
        client: AsyncClient,
        session: AsyncSession,
        owner: SignedIn,
        tag: str,
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user, title="kept")

        response = await client.patch(
            f"{ITEMS}/{item.id}", json={"title": "lost"}, headers={**headers, "If-Match": tag}
        )

        assert_error(response, 412, "PRECONDITION_FAILED")
        current = await client.get(f"{ITEMS}/{item.id}", headers=headers)
        assert current.json()["title"] == "kept"

    async def test_second_writer_with_the_same_etag_loses(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)
        tag = (await client.get(f"{ITEMS}/{item.id}", headers=headers)).headers["ETag"]

        first = await client.patch(
            f"{ITEMS}/{item.id}", json={"title": "a"}, headers={**headers, "If-Match": tag}
        )
        second = await client.patch(
            f"{ITEMS}/{item.id}", json={"title": "b"}, headers={**headers, "If-Match": tag}
        )

        assert (first.status_code, second.status_code) == (200, 412)

    async def test_wildcard_and_lists_of_tags(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)
        url = f"{ITEMS}/{item.id}"

        star = await client.patch(url, json={"title": "a"}, headers={**headers, "If-Match": "*"})
        listed = await client.patch(
            url, json={"title": "b"}, headers={**headers, "If-Match": '"7", "2"'}
        )

        assert (star.status_code, listed.status_code) == (200, 200)
        assert listed.json()["version"] == 3

    @pytest.mark.parametrize("field", ["title", "is_active"])
    async def test_required_fields_cannot_be_set_to_null(
        self,
        client: AsyncClient,
        session: AsyncSession,
        owner: SignedIn,
        field: str,
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)

        response = await client.patch(f"{ITEMS}/{item.id}", json={field: None}, headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", field]

    async def test_optional_field_can_be_cleared(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user, description="text")

        response = await client.patch(
            f"{ITEMS}/{item.id}", json={"description": None}, headers=headers
        )

        assert response.json()["description"] is None

    @pytest.mark.parametrize(
        "body", [{"owner_id": str(uuid.uuid4())}, {"version": 9}, {"id": str(uuid.uuid4())}]
    )
    async def test_protected_fields_are_refused(
        self,
        client: AsyncClient,
        session: AsyncSession,
        owner: SignedIn,
        body: dict[str, object],
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)

        response = await client.patch(f"{ITEMS}/{item.id}", json=body, headers=headers)

        assert response.status_code == 422


class TestDeleteAndRestore:
    async def test_soft_delete_hides_the_item_until_restored(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)
        url = f"{ITEMS}/{item.id}"

        deleted = await client.delete(url, headers=headers)
        hidden = await client.get(url, headers=headers)
        listed = await client.get(ITEMS, headers=headers)
        restored = await client.post(f"{url}/restore", headers=headers)
        visible = await client.get(url, headers=headers)

        assert deleted.status_code == 204
        assert hidden.status_code == 404
        assert listed.json()["total"] == 0
        assert restored.status_code == 200
        assert restored.json()["version"] == 3
        assert visible.status_code == 200
        assert await item_count(session, id=item.id) == 1

    async def test_patch_of_a_deleted_item_is_404(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)
        await client.delete(f"{ITEMS}/{item.id}", headers=headers)

        response = await client.patch(f"{ITEMS}/{item.id}", json={"title": "x"}, headers=headers)

        assert response.status_code == 404

    async def test_delete_with_stale_if_match_is_412(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)

        response = await client.delete(f"{ITEMS}/{item.id}", headers={**headers, "If-Match": '"5"'})

        assert response.status_code == 412

    async def test_restoring_a_live_item_changes_nothing(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)

        response = await client.post(f"{ITEMS}/{item.id}/restore", headers=headers)

        assert response.status_code == 200
        assert response.json()["version"] == 1


class TestOwnership:
    """The IDOR matrix: another user's item id answers 404 on every route."""

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("GET", "", None),
            ("PATCH", "", {"title": "stolen"}),
            ("DELETE", "", None),
            ("POST", "/restore", None),
        ],
    )
    async def test_other_users_item_is_404(
        self,
        client: AsyncClient,
        session: AsyncSession,
        method: str,
        suffix: str,
        body: dict[str, object] | None,
    ) -> None:
        victim = await create_user(session)
        item = await create_item(session, owner=victim, title="mine")
        _attacker, headers = await signed_in(client, session)

        response = await client.request(
            method, f"{ITEMS}/{item.id}{suffix}", json=body, headers=headers
        )

        assert_error(response, 404, "NOT_FOUND")
        await session.refresh(item)
        assert (item.title, item.version, item.deleted_at) == ("mine", 1, None)

    async def test_other_users_deleted_item_cannot_be_restored(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        victim, victim_headers = await signed_in(client, session)
        item = await create_item(session, owner=victim)
        await client.delete(f"{ITEMS}/{item.id}", headers=victim_headers)
        _attacker, headers = await signed_in(client, session)

        response = await client.post(f"{ITEMS}/{item.id}/restore", headers=headers)

        assert response.status_code == 404

    async def test_list_shows_only_own_items(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        me, headers = await signed_in(client, session)
        mine = await create_item(session, owner=me)
        await create_item(session, owner=await create_user(session))

        response = await client.get(ITEMS, headers=headers)

        assert [row["id"] for row in response.json()["items"]] == [str(mine.id)]

    async def test_bulk_never_changes_another_users_item(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        victim = await create_user(session)
        item = await create_item(session, owner=victim, title="victim's")
        _attacker, headers = await signed_in(client, session)

        response = await client.post(
            f"{ITEMS}/bulk",
            json={"items": [{"id": str(item.id), "title": "pwned"}]},
            headers=headers,
        )

        assert response.status_code == 200
        assert response.json() == {
            "created": 0,
            "updated": 0,
            "skipped": [str(item.id)],
            "items": [],
        }
        await session.refresh(item)
        assert (item.title, item.owner_id, item.version) == ("victim's", victim.id, 1)

    @pytest.mark.parametrize(
        "params", [{"owner_id": str(uuid.uuid4())}, {"include_deleted": "true"}]
    )
    async def test_superuser_only_filters_are_403_for_others(
        self, client: AsyncClient, owner: SignedIn, params: dict[str, str]
    ) -> None:
        _user, headers = owner

        response = await client.get(ITEMS, params=params, headers=headers)

        assert_error(response, 403, "FORBIDDEN")


class TestTokenReuse:
    async def test_logout_ends_item_access(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        headers = bearer(await login(client, user.email))
        await client.post("/api/v1/auth/logout", headers=headers)

        response = await client.get(ITEMS, headers=headers)

        assert response.status_code == 401


class TestOpenAPI:
    async def test_update_schema_says_which_fields_may_be_null(self, client: AsyncClient) -> None:
        schema = (await client.get("/openapi.json")).json()["components"]["schemas"]

        update = schema["ItemUpdate"]
        assert update["properties"]["title"]["type"] == "string"
        assert "anyOf" not in update["properties"]["is_active"]
        assert {"type": "null"} in update["properties"]["description"]["anyOf"]
        assert "required" not in update
        assert update["additionalProperties"] is False
