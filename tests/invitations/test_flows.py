"""Invitations over HTTP: the link mailed through the outbox (a real SMTP server for the whole
flow), accepted only by the invited, verified address, once; roles within the inviter's reach,
answers that tell nothing about who has an account, a limit per organisation."""

import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.models import utcnow
from app.identity.models import Membership, Organisation, User
from app.invitations.models import Invitation
from app.mail.models import OutboxMessage
from tests.accounts.conftest import mailing_app  # noqa: F401 - a fixture these tests use
from tests.conftest import http_client, running_app
from tests.mail import TOKEN, Mailbox, token_in
from tests.orgs.factories import ORGS, member, new_org
from tests.users.factories import DEFAULT_PASSWORD, SignedIn, bearer, login, signed_in, unique_email

ACCEPT = "/api/v1/invitations/accept"


def invitations(org: dict[str, object]) -> str:
    return f"{ORGS}/{org['id']}/invitations"


async def mailed_token(session: AsyncSession, email: str) -> str:
    """The token of the latest invitation queued for `email` (in this test's transaction)."""
    statement = (
        select(OutboxMessage.text_body)
        .where(OutboxMessage.recipient == email)
        .order_by(OutboxMessage.created_at.desc())
    )
    found = TOKEN.search((await session.scalars(statement)).first() or "")
    assert found
    return found.group(1)


@pytest.fixture
async def owner(client: AsyncClient, session: AsyncSession) -> SignedIn:
    return await signed_in(client, session)


@pytest.fixture
async def org(client: AsyncClient, owner: SignedIn) -> dict[str, object]:
    return await new_org(client, owner, name="Acme")


class TestInvitations:
    async def test_the_invited_address_accepts_once(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn, org: dict[str, object]
    ) -> None:
        invitee = await signed_in(client, session)
        created = await client.post(
            invitations(org),
            json={"email": invitee.user.email, "roles": ["member"]},
            headers=owner.headers,
        )
        token = await mailed_token(session, invitee.user.email)

        accepted = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)
        again = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)

        assert created.status_code == 201, created.text
        assert (created.json()["roles"], created.json()["invited_by"]) == (
            ["member"],
            str(owner.user.id),
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["id"] == org["id"]
        members = await client.get(f"{ORGS}/{org['id']}/members", headers=invitee.headers)
        assert {m["email"]: m["roles"] for m in members.json()["items"]}[invitee.user.email] == [
            "member"
        ]
        assert (again.status_code, again.json()["error_code"]) == (400, "INVALID_TOKEN")

    async def test_a_forwarded_link_lets_no_one_else_in(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn, org: dict[str, object]
    ) -> None:
        invitee, forwarded_to = await signed_in(client, session), await signed_in(client, session)
        body = {"email": invitee.user.email, "roles": ["admin"]}
        await client.post(invitations(org), json=body, headers=owner.headers)
        token = await mailed_token(session, invitee.user.email)

        refused = await client.post(ACCEPT, json={"token": token}, headers=forwarded_to.headers)
        accepted = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)

        assert (refused.status_code, refused.json()["error_code"]) == (403, "FORBIDDEN")
        assert accepted.status_code == 200
        seen = await client.get(f"{ORGS}/{org['id']}", headers=forwarded_to.headers)
        assert seen.status_code == 404

    async def test_an_unverified_address_cannot_accept(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn, org: dict[str, object]
    ) -> None:
        invitee = await signed_in(client, session, verified=False)
        body = {"email": invitee.user.email, "roles": ["member"]}
        await client.post(invitations(org), json=body, headers=owner.headers)
        token = await mailed_token(session, invitee.user.email)

        refused = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)

        assert (refused.status_code, refused.json()["error_code"]) == (403, "EMAIL_NOT_VERIFIED")

    async def test_expired_withdrawn_and_replaced_links_are_dead(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn, org: dict[str, object]
    ) -> None:
        invitee = await signed_in(client, session)
        body = {"email": invitee.user.email, "roles": ["member"]}
        first = await client.post(invitations(org), json=body, headers=owner.headers)
        replaced = await mailed_token(session, invitee.user.email)
        second = await client.post(invitations(org), json=body, headers=owner.headers)
        withdrawn = await mailed_token(session, invitee.user.email)
        listed = await client.get(invitations(org), headers=owner.headers)
        gone = await client.delete(
            f"{invitations(org)}/{second.json()['id']}", headers=owner.headers
        )
        third = await client.post(invitations(org), json=body, headers=owner.headers)
        expired = await mailed_token(session, invitee.user.email)
        await session.execute(
            update(Invitation)
            .where(Invitation.id == uuid.UUID(third.json()["id"]))
            .values(expires_at=utcnow())
        )
        await session.commit()

        assert [row["id"] for row in listed.json()["items"]] == [second.json()["id"]]
        assert first.json()["id"] != second.json()["id"]
        assert gone.status_code == 204
        for token in (replaced, withdrawn, expired):
            answer = await client.post(ACCEPT, json={"token": token}, headers=invitee.headers)
            assert answer.status_code == 400, token

    async def test_nobody_invites_into_a_role_beyond_their_own(
        self, client: AsyncClient, session: AsyncSession, org: dict[str, object]
    ) -> None:
        admin = await member(client, session, str(org["id"]), "admin")
        plain = await member(client, session, str(org["id"]), "member")
        email = unique_email()

        as_owner = await client.post(
            invitations(org), json={"email": email, "roles": ["owner"]}, headers=admin.headers
        )
        unknown = await client.post(
            invitations(org), json={"email": email, "roles": ["wizard"]}, headers=admin.headers
        )
        by_member = await client.post(
            invitations(org), json={"email": email, "roles": ["member"]}, headers=plain.headers
        )
        as_admin = await client.post(
            invitations(org), json={"email": email, "roles": ["admin"]}, headers=admin.headers
        )

        assert (as_owner.status_code, as_owner.json()["error_code"]) == (403, "PERMISSION_DENIED")
        assert unknown.status_code == 422
        assert by_member.json()["detail"] == "Missing permission: members:invite"
        assert as_admin.status_code == 201

    async def test_the_answer_tells_nothing_about_the_address(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn, org: dict[str, object]
    ) -> None:
        already = await member(client, session, str(org["id"]), "member")
        answers = []
        for email in (
            already.user.email,
            (await signed_in(client, session)).user.email,
            unique_email(),
        ):
            response = await client.post(
                invitations(org), json={"email": email, "roles": ["member"]}, headers=owner.headers
            )
            answers.append((response.status_code, sorted(response.json())))

        assert answers[0] == answers[1] == answers[2]
        assert answers[0][0] == 201

    async def test_invitations_are_limited_per_organisation(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        session: AsyncSession,
    ) -> None:
        limited = settings.model_copy(update={"rate_limit_invitations": "2/hour"})
        async with (
            running_app(limited, sessionmaker=sessionmaker) as app,
            http_client(app) as client,
        ):
            owner = await signed_in(client, session)
            org, other = await new_org(client, owner), await new_org(client, owner)
            body = {"email": unique_email(), "roles": ["member"]}
            codes = [
                (await client.post(invitations(org), json=body, headers=owner.headers)).status_code
                for _ in range(3)
            ]
            elsewhere = await client.post(invitations(other), json=body, headers=owner.headers)

        assert codes == [201, 201, 429]
        assert elsewhere.status_code == 201


@pytest.fixture
async def mailing_client(mailing_app: FastAPI) -> AsyncIterator[AsyncClient]:  # noqa: F811
    async with http_client(mailing_app) as client:
        yield client


async def test_an_unknown_address_registers_verifies_and_joins(
    mailing_client: AsyncClient, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    """The whole flow with real commits and mail through a real SMTP server."""
    client = mailing_client
    owner_email, invitee = unique_email(), unique_email()
    try:
        for email in (owner_email,):
            body = {"email": email, "password": DEFAULT_PASSWORD}
            assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        owner = bearer(await login(client, owner_email))
        org = (await client.post(ORGS, json={"name": "Mailed"}, headers=owner)).json()
        invited = await client.post(
            invitations(org), json={"email": invitee, "roles": ["member"]}, headers=owner
        )
        assert invited.status_code == 201, invited.text
        invitation = (await mailbox.wait_for(invitee))[-1]
        assert invitation["Subject"] == "Join Mailed"
        token = token_in(invitation)

        body = {"email": invitee, "password": DEFAULT_PASSWORD}
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        verification = (await mailbox.wait_for(invitee, count=2))[-1]
        verified = await client.post(
            "/api/v1/auth/verify-email", json={"token": token_in(verification)}
        )
        assert verified.status_code == 204, verified.text
        headers = bearer(await login(client, invitee))
        accepted = await client.post(ACCEPT, json={"token": token}, headers=headers)

        assert accepted.status_code == 200, accepted.text
        assert (await client.get(f"{ORGS}/{org['id']}", headers=headers)).status_code == 200
    finally:
        async with engine.begin() as connection:
            emails = [owner_email, invitee]
            users = select(User.id).where(User.email.in_(emails))
            orgs = select(Membership.org_id).where(Membership.user_id.in_(users))
            await connection.execute(delete(Organisation).where(Organisation.id.in_(orgs)))
            await connection.execute(delete(User).where(User.email.in_(emails)))
            await connection.execute(
                delete(OutboxMessage).where(OutboxMessage.recipient.in_(emails))
            )
