"""Roles over HTTP: create, read, change and delete them, grant and take them back, and what
their holders may do next; nobody hands out what they do not hold."""

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.permissions import declared
from app.identity.models import Role
from tests.assertions import assert_error
from tests.roles.factories import create_role
from tests.users.factories import SignedIn, signed_in, user_url

ROLES = "/api/v1/roles"
ITEMS = "/api/v1/items"
ME = "/api/v1/users/me"


def role_url(role_id: uuid.UUID | str) -> str:
    return f"{ROLES}/{role_id}"


def holding_url(user_id: uuid.UUID | str, role_id: uuid.UUID | str) -> str:
    return f"{user_url(user_id)}/roles/{role_id}"


async def built_in(session: AsyncSession, name: str) -> Role:
    return (await session.scalars(select(Role).where(Role.name == name))).one()


class TestCreate:
    async def test_returns_201_with_location(self, client: AsyncClient, admin: SignedIn) -> None:
        body = {
            "name": "editor",
            "description": "Edits",
            "permissions": ["items:write", "items:read"],
        }

        response = await client.post(ROLES, json=body, headers=admin.headers)

        assert response.status_code == 201, response.text
        created = response.json()
        assert created["permissions"] == ["items:read", "items:write"]
        assert (created["name"], created["built_in"]) == ("editor", False)
        assert response.headers["Location"] == role_url(created["id"])
        assert (
            await client.get(response.headers["Location"], headers=admin.headers)
        ).json() == created

    async def test_a_taken_name_is_409(self, client: AsyncClient, admin: SignedIn) -> None:
        response = await client.post(
            ROLES, json={"name": "user", "permissions": []}, headers=admin.headers
        )

        assert_error(response, 409, "ALREADY_EXISTS")

    @pytest.mark.parametrize(
        "permissions",
        [["items:fly"], ["*"], ["Items:Read"], ["items"]],
        ids=["unknown", "all", "case", "shape"],
    )
    async def test_only_declared_permissions(
        self, client: AsyncClient, admin: SignedIn, permissions: list[str]
    ) -> None:
        response = await client.post(
            ROLES, json={"name": "odd", "permissions": permissions}, headers=admin.headers
        )

        body = assert_error(response, 422, "VALIDATION_ERROR")
        assert body["errors"][0]["loc"][:2] == ["body", "permissions"]

    @pytest.mark.parametrize("name", ["", "Editor", "1st", "a" * 51, "with space"])
    async def test_names_are_lower_case_words(
        self, client: AsyncClient, admin: SignedIn, name: str
    ) -> None:
        response = await client.post(
            ROLES, json={"name": name, "permissions": []}, headers=admin.headers
        )

        assert_error(response, 422, "VALIDATION_ERROR")

    async def test_nobody_grants_what_they_do_not_hold(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        manager = await create_role(session, "roles:admin", "items:read")
        caller = await signed_in(client, session, roles=(manager.name,))

        allowed = await client.post(
            ROLES, json={"name": "reader", "permissions": ["items:read"]}, headers=caller.headers
        )
        refused = await client.post(
            ROLES, json={"name": "writer", "permissions": ["items:write"]}, headers=caller.headers
        )

        assert allowed.status_code == 201
        body = assert_error(refused, 403, "PERMISSION_DENIED")
        assert body["detail"] == "Missing permission: items:write"


class TestList:
    async def test_every_role_by_name(self, client: AsyncClient, admin: SignedIn) -> None:
        response = await client.get(ROLES, headers=admin.headers)

        roles = {role["name"]: role for role in response.json()}
        assert list(roles) == sorted(roles)
        assert roles["admin"]["permissions"] == ["*"]
        assert {"items:read", "items:write", "account:manage"} <= set(roles["user"]["permissions"])
        assert roles["admin"]["built_in"]
        assert roles["user"]["built_in"]

    async def test_permissions_lists_what_roles_can_grant(
        self, client: AsyncClient, admin: SignedIn
    ) -> None:
        response = await client.get("/api/v1/permissions", headers=admin.headers)

        listed = {entry["name"]: entry for entry in response.json()}
        assert set(listed) == set(declared())
        assert listed["account:manage"]["personal"] is True
        assert listed["items:read"]["description"] == "Read your items"


class TestUpdate:
    async def test_holders_see_the_change_on_their_next_request(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        reader = await create_role(session, "items:read")
        holder = await signed_in(client, session, roles=(reader.name,))
        assert (await client.get(ITEMS, headers=holder.headers)).status_code == 200

        changed = await client.patch(
            role_url(reader.id), json={"permissions": ["account:read"]}, headers=admin.headers
        )

        assert changed.json()["permissions"] == ["account:read"]
        assert_error(await client.get(ITEMS, headers=holder.headers), 403, "PERMISSION_DENIED")
        assert (await client.get(ME, headers=holder.headers)).status_code == 200

    async def test_renaming_and_describing(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        role = await create_role(session, "items:read")

        response = await client.patch(
            role_url(role.id),
            json={"name": "viewer", "description": "Looks"},
            headers=admin.headers,
        )

        assert (response.json()["name"], response.json()["description"]) == ("viewer", "Looks")
        assert response.json()["permissions"] == ["items:read"]
        assert response.json()["updated_at"] > response.json()["created_at"]

    @pytest.mark.parametrize(
        ("name", "change"),
        [
            ("admin", {"permissions": ["items:read"]}),
            ("admin", {"name": "boss"}),
            ("user", {"name": "member"}),
        ],
    )
    async def test_built_in_roles_keep_their_name_and_admin_everything(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin: SignedIn,
        name: str,
        change: dict[str, object],
    ) -> None:
        role = await built_in(session, name)

        response = await client.patch(role_url(role.id), json=change, headers=admin.headers)

        assert_error(response, 409, "CONFLICT")

    async def test_the_user_role_can_change_what_it_grants(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        role = await built_in(session, "user")
        member = await signed_in(client, session)
        kept = [p for p in role.permissions if p != "items:write"]

        response = await client.patch(
            role_url(role.id), json={"permissions": kept}, headers=admin.headers
        )

        assert response.status_code == 200
        refused = await client.post(ITEMS, json={"title": "x"}, headers=member.headers)
        assert_error(refused, 403, "PERMISSION_DENIED")

    async def test_an_explicit_null_is_422(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        role = await create_role(session)

        response = await client.patch(
            role_url(role.id), json={"permissions": None}, headers=admin.headers
        )

        assert_error(response, 422, "VALIDATION_ERROR")

    async def test_a_role_an_admin_holds_is_changed_by_admins_only(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        """Every account holds `user`: giving it `roles:admin` would hand that to everyone,
        an admin among them, whom only an admin may change."""
        manager = await create_role(session, *(name for name in declared()))
        caller = await signed_in(client, session, roles=(manager.name,))
        user_role = await built_in(session, "user")
        wanted = sorted({*user_role.permissions, "roles:admin"})

        response = await client.patch(
            role_url(user_role.id), json={"permissions": wanted}, headers=caller.headers
        )

        assert_error(response, 403, "FORBIDDEN")
        shown = await client.get(role_url(user_role.id), headers=admin.headers)
        assert "roles:admin" not in shown.json()["permissions"]


class TestDelete:
    async def test_holders_lose_what_it_granted(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        reader = await create_role(session, "items:read")
        holder = await signed_in(client, session, roles=(reader.name,))
        await client.get(ITEMS, headers=holder.headers)

        response = await client.delete(role_url(reader.id), headers=admin.headers)

        assert response.status_code == 204
        assert_error(await client.get(ITEMS, headers=holder.headers), 403, "PERMISSION_DENIED")
        assert_error(await client.get(role_url(reader.id), headers=admin.headers), 404, "NOT_FOUND")

    @pytest.mark.parametrize("name", ["admin", "user"])
    async def test_built_in_roles_stay(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn, name: str
    ) -> None:
        role = await built_in(session, name)

        assert_error(await client.delete(role_url(role.id), headers=admin.headers), 409, "CONFLICT")


class TestHolding:
    async def test_granting_and_taking_back(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        reader = await create_role(session, "items:read")
        member = await signed_in(client, session, roles=())
        assert_error(await client.get(ITEMS, headers=member.headers), 403, "PERMISSION_DENIED")

        granted = await client.put(holding_url(member.user.id, reader.id), headers=admin.headers)
        again = await client.put(holding_url(member.user.id, reader.id), headers=admin.headers)

        assert (granted.status_code, again.status_code) == (204, 204)
        assert (await client.get(ITEMS, headers=member.headers)).status_code == 200
        shown = await client.get(user_url(member.user.id), headers=admin.headers)
        assert shown.json()["roles"] == [reader.name]

        taken = await client.delete(holding_url(member.user.id, reader.id), headers=admin.headers)

        assert taken.status_code == 204
        assert_error(await client.get(ITEMS, headers=member.headers), 403, "PERMISSION_DENIED")

    @pytest.mark.parametrize("unknown", ["user", "role"])
    async def test_unknown_user_or_role_is_404(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn, unknown: str
    ) -> None:
        role = await create_role(session)
        user_id = uuid.uuid4() if unknown == "user" else admin.user.id
        role_id = uuid.uuid4() if unknown == "role" else role.id

        response = await client.put(holding_url(user_id, role_id), headers=admin.headers)

        assert_error(response, 404, "NOT_FOUND")

    async def test_only_an_admin_grants_admin(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        manager = await create_role(session, *(name for name in declared()))
        caller = await signed_in(client, session, roles=(manager.name,))
        admin_role = await built_in(session, "admin")

        response = await client.put(
            holding_url(caller.user.id, admin_role.id), headers=caller.headers
        )

        assert_error(response, 403, "PERMISSION_DENIED")

    async def test_taking_a_role_from_a_user_needs_what_they_hold(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        manager = await create_role(session, *(name for name in declared()))
        caller = await signed_in(client, session, roles=(manager.name,))
        user_role = await built_in(session, "user")

        response = await client.delete(
            holding_url(admin.user.id, user_role.id), headers=caller.headers
        )

        assert_error(response, 403, "FORBIDDEN")
        assert (await client.get(ME, headers=admin.headers)).json()["roles"] == ["admin", "user"]

    async def test_an_admin_cannot_take_admin_from_themself(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        admin_role = await built_in(session, "admin")

        response = await client.delete(
            holding_url(admin.user.id, admin_role.id), headers=admin.headers
        )

        assert_error(response, 403, "FORBIDDEN")
        assert (await client.get(ROLES, headers=admin.headers)).status_code == 200

    async def test_one_admin_takes_it_from_another(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        other = await signed_in(client, session, is_superuser=True)
        admin_role = await built_in(session, "admin")

        response = await client.delete(
            holding_url(other.user.id, admin_role.id), headers=admin.headers
        )

        assert response.status_code == 204
        shown = await client.get(ME, headers=other.headers)
        assert (shown.json()["is_superuser"], shown.json()["roles"]) == (False, ["user"])
