"""Security state dies with the credential. Every change of credentials (password reset,
password change, signing out everywhere, email change, deactivation) kills each token mailed to
the account before it; a reset also revokes the account's API keys; the notice of an email
change calls it off; a user has one live token per purpose, also when asked for at once; and
API keys need a verified address and the current password."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import AccountToken, Purpose
from app.accounts.repository import AccountTokenRepository
from app.core.models import utcnow
from app.core.security import new_security_stamp
from app.identity.models import User
from tests.accounts.conftest import Register
from tests.api_keys.factories import KEYS
from tests.assertions import assert_error
from tests.mail import Mailbox, text_of, token_in
from tests.users.factories import DEFAULT_PASSWORD, bearer, create_user, login, user_url

RESET = "/api/v1/auth/password-reset"
VERIFY = "/api/v1/auth/verify-email"
CHANGE = "/api/v1/auth/email-change/confirm"
CANCEL = "/api/v1/auth/email-change/cancel"
ME = "/api/v1/users/me"
NEW_PASSWORD = "a brand new passphrase"


@dataclass
class Account:
    email: str
    headers: dict[str, str]
    # What each mailed token would do if it still worked: path and body.
    tokens: dict[str, tuple[str, dict[str, str]]]


@pytest.fixture
async def admin(client: AsyncClient, engine: AsyncEngine) -> AsyncIterator[dict[str, str]]:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        user = await create_user(session, is_superuser=True)
    yield bearer(await login(client, user.email))
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.id == user.id))


async def with_outstanding_tokens(
    client: AsyncClient, mailbox: Mailbox, register: Register
) -> Account:
    """A new account holding a verification, a reset and an email change token."""
    email = await register()
    headers = bearer(await login(client, email))
    verification = token_in((await mailbox.wait_for(email))[0])
    assert (await client.post(RESET, json={"email": email})).status_code == 202
    reset = token_in((await mailbox.wait_for(email, count=2))[1])
    new_email = f"new-{email}"
    body = {"new_email": new_email, "current_password": DEFAULT_PASSWORD}
    assert (await client.post(f"{ME}/email", json=body, headers=headers)).status_code == 202
    change = token_in((await mailbox.wait_for(new_email))[0])
    tokens = {
        "verification": (VERIFY, {"token": verification}),
        "reset": (f"{RESET}/confirm", {"token": reset, "new_password": NEW_PASSWORD}),
        "email change": (CHANGE, {"token": change}),
    }
    return Account(email, headers, tokens)


async def reset_password(client: AsyncClient, account: Account, _admin: dict[str, str]) -> str:
    path, body = account.tokens["reset"]
    assert (await client.post(path, json=body)).status_code == 204
    return "reset"


async def change_password(client: AsyncClient, account: Account, _admin: dict[str, str]) -> None:
    body = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    response = await client.post("/api/v1/auth/password", json=body, headers=account.headers)
    assert response.status_code == 204


async def sign_out_everywhere(
    client: AsyncClient, account: Account, _admin: dict[str, str]
) -> None:
    response = await client.post("/api/v1/auth/logout-all", headers=account.headers)
    assert response.status_code == 204


async def change_email(client: AsyncClient, account: Account, _admin: dict[str, str]) -> str:
    path, body = account.tokens["email change"]
    assert (await client.post(path, json=body)).status_code == 204
    return "email change"


async def deactivate_and_reactivate(
    client: AsyncClient, account: Account, admin: dict[str, str]
) -> None:
    user_id = (await client.get(ME, headers=account.headers)).json()["id"]
    for active in (False, True):
        response = await client.patch(user_url(user_id), json={"is_active": active}, headers=admin)
        assert response.status_code == 200


Change = Callable[[AsyncClient, Account, dict[str, str]], Awaitable[str | None]]


class TestEveryCredentialChangeKillsEveryMailedToken:
    @pytest.mark.parametrize(
        "change",
        [
            reset_password,
            change_password,
            sign_out_everywhere,
            change_email,
            deactivate_and_reactivate,
        ],
    )
    async def test_no_token_mailed_before_works_after(
        self,
        client: AsyncClient,
        mailbox: Mailbox,
        register: Register,
        admin: dict[str, str],
        change: Change,
    ) -> None:
        account = await with_outstanding_tokens(client, mailbox, register)

        used = await change(client, account, admin)

        for purpose, (path, body) in account.tokens.items():
            if purpose != used:
                assert_error(await client.post(path, json=body), 400, "INVALID_TOKEN")

    async def test_a_reset_link_sent_to_the_old_address_does_nothing_after_the_change(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        account = await with_outstanding_tokens(client, mailbox, register)
        await change_email(client, account, {})

        path, body = account.tokens["reset"]

        assert_error(await client.post(path, json=body), 400, "INVALID_TOKEN")
        await login(client, f"new-{account.email}")  # the password is still the old one


class TestEmailChangeNotice:
    async def test_its_link_calls_the_pending_change_off(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        account = await with_outstanding_tokens(client, mailbox, register)
        notice = (await mailbox.wait_for(account.email, count=3))[2]

        cancelled = await client.post(CANCEL, json={"token": token_in(notice)})
        path, body = account.tokens["email change"]
        confirmed = await client.post(path, json=body)

        assert "/cancel-email-change?token=" in text_of(notice)
        assert cancelled.status_code == 204
        assert_error(confirmed, 400, "INVALID_TOKEN")
        me = (await client.get(ME, headers=account.headers)).json()
        assert me["email"] == account.email
        replay = await client.post(CANCEL, json={"token": token_in(notice)})
        assert_error(replay, 400, "INVALID_TOKEN")

    async def test_an_attackers_pending_change_does_not_survive_recovery(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        """The attacker (with a session) asks for their address; the owner resets the
        password and changes it again; the attacker's confirmation then does nothing."""
        account = await with_outstanding_tokens(client, mailbox, register)
        await reset_password(client, account, {})
        fresh = bearer(await login(client, account.email, NEW_PASSWORD))
        body = {"current_password": NEW_PASSWORD, "new_password": "yet another passphrase"}
        assert (await client.post("/api/v1/auth/password", json=body, headers=fresh)).is_success

        path, body = account.tokens["email change"]

        assert_error(await client.post(path, json=body), 400, "INVALID_TOKEN")
        assert (await client.get(ME, headers=fresh)).json()["email"] == account.email


class TestApiKeysAndRecovery:
    async def test_a_password_reset_revokes_every_api_key_and_the_mail_says_so(
        self, client: AsyncClient, mailbox: Mailbox, register: Register, engine: AsyncEngine
    ) -> None:
        email = await register()
        await mark_verified(engine, email)
        headers = bearer(await login(client, email))
        body = {"name": "ci", "scopes": ["items:read"], "current_password": DEFAULT_PASSWORD}
        key = bearer((await client.post(KEYS, json=body, headers=headers)).json()["key"])
        assert (await client.get("/api/v1/items", headers=key)).status_code == 200

        assert (await client.post(RESET, json={"email": email})).status_code == 202
        mail = (await mailbox.wait_for(email, count=2))[1]
        confirm = {"token": token_in(mail), "new_password": NEW_PASSWORD}
        assert (await client.post(f"{RESET}/confirm", json=confirm)).status_code == 204

        assert "revokes all of its API keys" in text_of(mail)
        assert_error(await client.get("/api/v1/items", headers=key), 401, "UNAUTHORIZED")

    async def test_an_unverified_account_cannot_create_a_key(
        self, client: AsyncClient, register: Register
    ) -> None:
        """The attacker who registered someone else's address first mints nothing."""
        headers = bearer(await login(client, await register()))
        body = {"name": "ci", "scopes": ["items:read"], "current_password": DEFAULT_PASSWORD}

        response = await client.post(KEYS, json=body, headers=headers)

        assert_error(response, 403, "EMAIL_NOT_VERIFIED")

    @pytest.mark.parametrize(
        ("password", "field_error"),
        [(None, "missing"), ("not the password", None)],
    )
    async def test_a_session_alone_creates_no_key(
        self,
        client: AsyncClient,
        register: Register,
        engine: AsyncEngine,
        password: str | None,
        field_error: str | None,
    ) -> None:
        email = await register()
        await mark_verified(engine, email)
        headers = bearer(await login(client, email))
        body: dict[str, object] = {"name": "ci", "scopes": ["items:read"]}
        if password is not None:
            body["current_password"] = password

        response = await client.post(KEYS, json=body, headers=headers)

        assert_error(response, 422, "VALIDATION_ERROR")
        assert response.json()["errors"][0]["loc"] == ["body", "current_password"]
        if field_error:
            assert response.json()["errors"][0]["type"] == field_error
        assert (await client.get(KEYS, headers=headers)).json() == []


class TestOneTokenPerPurpose:
    async def test_tokens_issued_at_once_leave_one(self, engine: AsyncEngine) -> None:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            user = await create_user(session)

        async def issue(n: int) -> None:
            async with AsyncSession(engine) as session, session.begin():
                await AccountTokenRepository(session).replace(
                    user_id=user.id,
                    purpose=Purpose.PASSWORD_RESET,
                    token_hash=f"{n:064d}",
                    new_email=None,
                    created_at=utcnow(),
                    expires_at=utcnow(),
                    security_stamp=new_security_stamp(),
                )

        try:
            await asyncio.gather(*(issue(n) for n in range(3)))
            async with AsyncSession(engine) as session:
                count = await session.scalar(
                    select(func.count()).where(AccountToken.user_id == user.id)
                )
        finally:
            async with engine.begin() as connection:
                await connection.execute(delete(User).where(User.id == user.id))

        assert count == 1

    async def test_three_reset_requests_at_once_leave_one_working_link(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()

        asked = await asyncio.gather(*(client.post(RESET, json={"email": email}) for _ in range(3)))
        links = [token_in(mail) for mail in (await mailbox.wait_for(email, count=4))[1:]]
        answers = [
            await client.post(
                f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD}
            )
            for token in links
        ]

        # The worker writes them one after another: each link replaced the one before it.
        assert [answer.status_code for answer in asked] == [202] * 3
        assert [answer.status_code for answer in answers] == [400, 400, 204]


async def mark_verified(engine: AsyncEngine, email: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(User).where(User.email == email).values(email_verified_at=utcnow())
        )
