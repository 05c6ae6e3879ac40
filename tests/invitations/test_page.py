"""The page behind an invitation's link: the invited person signs in with their password there
and joins; a wrong password shows the form again, and the link keeps working."""

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.invitations.test_flows import invitations, mailed_token
from tests.orgs.factories import ORGS, new_org
from tests.pages.forms import csrf_of
from tests.pages.test_pages import assert_page
from tests.users.factories import DEFAULT_PASSWORD, signed_in

PAGE = "/account/accept-invitation"


async def test_the_invited_person_joins_from_the_page(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await signed_in(client, session)
    org = await new_org(client, owner, name="Acme Pages")
    invitee = await signed_in(client, session)
    body = {"email": invitee.user.email, "roles": ["member"]}
    assert (await client.post(invitations(org), json=body, headers=owner.headers)).is_success
    token = await mailed_token(session, invitee.user.email)

    page = await client.get(PAGE, params={"token": token})
    assert_page(page, 200, "Acme Pages", invitee.user.email, 'autocomplete="current-password"')
    wrong = await client.post(
        PAGE, data={"csrf_token": csrf_of(page), "token": token, "password": "not the password"}
    )
    assert_page(wrong, 401, "Invalid email or password", 'id="password"')
    joined = await client.post(
        PAGE, data={"csrf_token": csrf_of(wrong), "token": token, "password": DEFAULT_PASSWORD}
    )

    assert_page(joined, 200, "You are a member of Acme Pages")
    mine = await client.get(ORGS, headers=invitee.headers)
    assert [each["id"] for each in mine.json()["items"]] == [org["id"]]
    assert_page(await client.get(PAGE, params={"token": token}), 400, "already used")
