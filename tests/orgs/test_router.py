"""Organisations and their members over HTTP."""

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.identity.models import Membership, Organisation
from tests.conftest import http_client, running_app
from tests.orgs.factories import ORGS, member, new_org
from tests.users.factories import SignedIn, signed_in


@pytest.fixture
async def owner(client: AsyncClient, session: AsyncSession) -> SignedIn:
    return await signed_in(client, session)


class TestOrganisations:
    async def test_create_makes_the_caller_its_owner(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        response = await client.post(ORGS, json={"name": "Acme Ltd"}, headers=owner.headers)

        assert response.status_code == 201, response.text
        org = response.json()
        assert response.headers["Location"] == f"{ORGS}/{org['id']}"
        assert response.headers["ETag"] == '"1"'
        members = await client.get(f"{ORGS}/{org['id']}/members", headers=owner.headers)
        assert [(m["user_id"], m["roles"]) for m in members.json()["items"]] == [
            (str(owner.user.id), ["owner"])
        ]

    @pytest.mark.parametrize(
        ("name", "slug"),
        [("Acme Ltd", "acme-ltd"), ("  Ærø & Co. ", "r-co"), ("日本", "org"), ("a" * 80, "a" * 63)],
    )
    async def test_the_slug_is_derived_from_the_name(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn, name: str, slug: str
    ) -> None:
        taken = await session.scalar(select(func.count()).where(Organisation.slug == slug))
        org = await new_org(client, owner, name=name)

        if taken:
            assert org["slug"].startswith(f"{slug[:56]}-")
        else:
            assert org["slug"] == slug

    async def test_a_derived_slug_that_is_taken_gets_a_suffix(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        name = f"Same {uuid.uuid4().hex[:6]}"
        first, second = (
            await new_org(client, owner, name=name),
            await new_org(client, owner, name=name),
        )

        assert first["slug"] != second["slug"]
        assert second["slug"].startswith(f"{first['slug']}-")

    async def test_a_chosen_slug_that_is_taken_is_409(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        slug = f"taken-{uuid.uuid4().hex[:6]}"
        await new_org(client, owner, slug=slug)

        response = await client.post(ORGS, json={"name": "x", "slug": slug}, headers=owner.headers)

        assert response.status_code == 409
        assert response.json()["error_code"] == "ALREADY_EXISTS"

    @pytest.mark.parametrize("slug", ["Upper", "-edge", "edge-", "sp ace", "a" * 64, ""])
    async def test_a_slug_that_is_not_url_safe_is_422(
        self, client: AsyncClient, owner: SignedIn, slug: str
    ) -> None:
        response = await client.post(ORGS, json={"name": "x", "slug": slug}, headers=owner.headers)

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "slug"]

    async def test_list_shows_only_the_callers_organisations(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        mine = await new_org(client, owner)
        stranger = await signed_in(client, session)
        await new_org(client, stranger)

        response = await client.get(ORGS, params={"limit": 100}, headers=owner.headers)

        assert [org["id"] for org in response.json()["items"]] == [mine["id"]]
        assert response.json()["total"] == 1

    async def test_an_outsider_gets_404_as_for_an_unknown_id(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)
        outsider = await signed_in(client, session)

        existing = await client.get(f"{ORGS}/{org['id']}", headers=outsider.headers)
        unknown = await client.get(f"{ORGS}/{uuid.uuid4()}", headers=outsider.headers)

        assert existing.status_code == unknown.status_code == 404
        assert existing.json()["detail"] == unknown.json()["detail"] == "Organisation not found"

    async def test_update_with_if_match(self, client: AsyncClient, owner: SignedIn) -> None:
        org = await new_org(client, owner)
        url = f"{ORGS}/{org['id']}"

        renamed = await client.patch(
            url, json={"name": "Renamed"}, headers={**owner.headers, "If-Match": '"1"'}
        )
        stale = await client.patch(
            url, json={"name": "Again"}, headers={**owner.headers, "If-Match": '"1"'}
        )

        assert renamed.status_code == 200
        assert (renamed.json()["name"], renamed.headers["ETag"]) == ("Renamed", '"2"')
        assert stale.status_code == 412

    async def test_changing_to_a_taken_slug_is_409(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        first, second = await new_org(client, owner), await new_org(client, owner)

        response = await client.patch(
            f"{ORGS}/{second['id']}", json={"slug": first["slug"]}, headers=owner.headers
        )

        assert response.status_code == 409

    async def test_only_an_owner_deletes_and_everything_goes_with_it(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)
        admin = await member(client, session, org["id"], "admin")
        url = f"{ORGS}/{org['id']}"

        refused = await client.delete(url, headers=admin.headers)
        deleted = await client.delete(url, headers=owner.headers)

        assert refused.status_code == 403
        assert refused.json()["detail"] == "Missing permission: orgs:delete"
        assert deleted.status_code == 204
        assert (await client.get(url, headers=owner.headers)).status_code == 404
        left = select(func.count()).where(Membership.org_id == uuid.UUID(org["id"]))
        assert await session.scalar(left) == 0


class TestMembers:
    async def test_a_member_lists_members_but_changes_nobody(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)
        plain = await member(client, session, org["id"], "member")

        listed = await client.get(f"{ORGS}/{org['id']}/members", headers=plain.headers)
        changed = await client.patch(
            f"{ORGS}/{org['id']}/members/{owner.user.id}",
            json={"roles": ["member"]},
            headers=plain.headers,
        )

        assert listed.status_code == 200
        assert {m["email"] for m in listed.json()["items"]} == {owner.user.email, plain.user.email}
        assert changed.status_code == 403

    async def test_an_admin_cannot_make_or_unmake_owners(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)
        admin = await member(client, session, org["id"], "admin")
        plain = await member(client, session, org["id"], "member")
        members = f"{ORGS}/{org['id']}/members"

        promote = await client.patch(
            f"{members}/{plain.user.id}", json={"roles": ["owner"]}, headers=admin.headers
        )
        demote = await client.patch(
            f"{members}/{owner.user.id}", json={"roles": ["member"]}, headers=admin.headers
        )
        remove = await client.delete(f"{members}/{owner.user.id}", headers=admin.headers)
        to_admin = await client.patch(
            f"{members}/{plain.user.id}", json={"roles": ["admin"]}, headers=admin.headers
        )

        assert (promote.status_code, demote.status_code, remove.status_code) == (403, 403, 403)
        assert to_admin.status_code == 200
        assert to_admin.json()["roles"] == ["admin"]

    async def test_an_owner_hands_over_ownership_and_then_leaves(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)
        heir = await member(client, session, org["id"], "member")
        members = f"{ORGS}/{org['id']}/members"

        alone = await client.delete(f"{members}/{owner.user.id}", headers=owner.headers)
        promoted = await client.patch(
            f"{members}/{heir.user.id}", json={"roles": ["owner"]}, headers=owner.headers
        )
        left = await client.delete(f"{members}/{owner.user.id}", headers=owner.headers)

        assert alone.status_code == 409
        assert alone.json()["error_code"] == "CONFLICT"
        assert promoted.status_code == 200
        assert left.status_code == 204
        assert (await client.get(f"{ORGS}/{org['id']}", headers=owner.headers)).status_code == 404

    async def test_the_last_owner_cannot_demote_themselves(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)

        response = await client.patch(
            f"{ORGS}/{org['id']}/members/{owner.user.id}",
            json={"roles": ["admin"]},
            headers=owner.headers,
        )

        assert response.status_code == 409

    async def test_a_member_without_permissions_may_still_leave(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)
        nobody = await member(client, session, org["id"])

        seen = await client.get(f"{ORGS}/{org['id']}", headers=nobody.headers)
        left = await client.delete(
            f"{ORGS}/{org['id']}/members/{nobody.user.id}", headers=nobody.headers
        )

        assert seen.status_code == 403
        assert left.status_code == 204

    async def test_unknown_roles_and_members(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)
        members = f"{ORGS}/{org['id']}/members"

        unknown_role = await client.patch(
            f"{members}/{owner.user.id}", json={"roles": ["owner", "wizard"]}, headers=owner.headers
        )
        unknown_member = await client.patch(
            f"{members}/{uuid.uuid4()}", json={"roles": ["member"]}, headers=owner.headers
        )

        assert unknown_role.status_code == 422
        assert unknown_role.json()["detail"] == "No role named wizard"
        assert unknown_member.status_code == 404
        assert unknown_member.json()["detail"] == "Member not found"

    async def test_a_removed_member_loses_access_at_once(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        org = await new_org(client, owner)
        gone = await member(client, session, org["id"], "member")
        url = f"{ORGS}/{org['id']}"
        assert (await client.get(url, headers=gone.headers)).status_code == 200

        removed = await client.delete(f"{url}/members/{gone.user.id}", headers=owner.headers)

        assert removed.status_code == 204
        assert (await client.get(url, headers=gone.headers)).status_code == 404

    async def test_a_personal_api_key_does_not_act_in_organisations(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        from tests.api_keys.factories import api_key

        org = await new_org(client, owner)
        key = await api_key(client, owner, "account:read")

        response = await client.get(f"{ORGS}/{org['id']}", headers=key)

        assert response.status_code == 403


class TestPlatformAdmins:
    async def test_an_admin_is_an_outsider_unless_the_setting_lets_them_read(
        self,
        client: AsyncClient,
        session: AsyncSession,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        owner: SignedIn,
    ) -> None:
        org = await new_org(client, owner)
        url = f"{ORGS}/{org['id']}"
        admin = await signed_in(client, session, is_superuser=True)
        by_default = await client.get(url, headers=admin.headers)
        reading = settings.model_copy(update={"admins_read_orgs": True})
        async with (
            running_app(reading, sessionmaker=sessionmaker) as app,
            http_client(app) as other,
        ):
            read = await other.get(f"{url}/members", headers=admin.headers)
            written = await other.patch(url, json={"name": "Mine"}, headers=admin.headers)
            unknown = await other.get(f"{ORGS}/{uuid.uuid4()}", headers=admin.headers)

        assert by_default.status_code == 404
        assert read.status_code == 200
        assert written.status_code == unknown.status_code == 404
