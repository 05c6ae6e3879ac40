"""What signing in through a provider leaves in the audit log: the account made, the identity
linked (and how), the session, each refusal with its reason, an unlinking."""

import uuid

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import AuditEvent
from app.oauth.models import UserIdentity
from tests.oauth.flows import bearer_for, error_of, sign_in
from tests.oauth.test_identities import IDENTITIES, link
from tests.oauth.test_sign_in import new_login
from tests.users.factories import bearer, create_user, login


async def events_of(session: AsyncSession, subject_id: uuid.UUID) -> list[AuditEvent]:
    statement = (
        select(AuditEvent)
        .where(AuditEvent.subject_id == subject_id, AuditEvent.action.like("oauth.%"))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return list((await session.execute(statement)).scalars())


async def test_a_first_sign_in_makes_the_account_links_it_and_starts_a_session(
    client: AsyncClient, session: AsyncSession
) -> None:
    address = new_login()

    headers = await bearer_for(client, await sign_in(client, address))

    me = (await client.get("/api/v1/users/me", headers=headers)).json()
    user_id = uuid.UUID(me["id"])
    identity_id = (await session.execute(select(UserIdentity.id))).scalar_one()
    events = await events_of(session, user_id)
    assert [(event.action, event.actor_id, event.details) for event in events] == [
        ("oauth.registered", user_id, {"provider": "test"}),
        ("oauth.identity_linked", user_id, {"provider": "test", "by": "registration"}),
        ("oauth.login", user_id, {}),
    ]
    assert (events[1].target_type, events[1].target_id) == ("identity", str(identity_id))
    assert events[2].target_type == "session"
    assert events[2].ip is not None


async def test_a_verified_address_links_the_existing_account(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, email=new_login())

    await sign_in(client, user.email)

    events = await events_of(session, user.id)
    assert [(event.action, event.details) for event in events] == [
        ("oauth.identity_linked", {"provider": "test", "by": "address"}),
    ]


async def test_a_refused_sign_in_is_recorded_with_its_reason(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, email=new_login(), verified=False)

    assert error_of(await sign_in(client, user.email)) == "account_exists"

    events = await events_of(session, user.id)
    assert [(event.action, event.actor_id, event.details) for event in events] == [
        ("oauth.login_failed", None, {"provider": "test", "reason": "account_exists"}),
    ]


async def test_linking_and_unlinking_by_the_user(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session)
    headers = bearer(await login(client, user.email))
    await link(client, headers, new_login())
    identity_id = (await client.get(IDENTITIES, headers=headers)).json()[0]["id"]

    removed = await client.delete(f"{IDENTITIES}/{identity_id}", headers=headers)

    assert removed.status_code == 204
    events = await events_of(session, user.id)
    assert [(event.action, event.target_id, event.details) for event in events] == [
        ("oauth.identity_linked", identity_id, {"provider": "test", "by": "user"}),
        ("oauth.identity_unlinked", identity_id, {"provider": "test"}),
    ]
