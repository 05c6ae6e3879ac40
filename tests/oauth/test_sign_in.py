"""Sign-in with a real OpenID provider, driven through HTTP: authorize → provider login →
consent → callback → exchange → /users/me; and every refusal, each with nothing created."""

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import uuid4

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import User, UserSession
from app.oauth.models import UserIdentity
from tests.assertions import assert_error
from tests.oauth.flows import (
    AUTHORIZE,
    RESULT_PAGE,
    at_callback,
    bearer_for,
    error_of,
    login_code_of,
    open_callback,
    sign_in,
)
from tests.oauth.provider import CALLBACK, PUBLIC_URL, OpenIDProvider, TamperingTransport
from tests.users.factories import create_user

ME = "/api/v1/users/me"


def new_login() -> str:
    return f"oidc-{uuid4().hex[:10]}@example.com"


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    """Users, identities and sessions: what a refused sign-in must leave as it was."""
    found = []
    for model in (User, UserIdentity, UserSession):
        found.append(
            int((await session.execute(select(func.count()).select_from(model))).scalar_one())
        )
    return found[0], found[1], found[2]


class TestSignIn:
    async def test_a_new_person_gets_a_verified_account_without_a_password(
        self, client: AsyncClient
    ) -> None:
        email = new_login()

        landing = await sign_in(client, email)

        assert landing.startswith(f"{RESULT_PAGE}#login_code=")
        headers = await bearer_for(client, landing)
        me = (await client.get(ME, headers=headers)).json()
        assert me["email"] == email
        assert me["email_verified_at"] is not None
        identities = (await client.get(f"{ME}/identities", headers=headers)).json()
        assert [(each["provider"], each["email"]) for each in identities] == [("test", email)]
        refused = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "any password at all"}
        )
        assert_error(refused, 401, "INVALID_CREDENTIALS")

    async def test_signing_in_again_is_the_same_account(self, client: AsyncClient) -> None:
        email = new_login()
        first = await client.get(ME, headers=await bearer_for(client, await sign_in(client, email)))

        second = await client.get(
            ME, headers=await bearer_for(client, await sign_in(client, email))
        )

        assert first.json()["id"] == second.json()["id"]

    async def test_the_client_names_where_to_land(self, client: AsyncClient) -> None:
        landing = await sign_in(client, new_login(), redirect_to="/app/welcome?tab=1")

        assert landing.startswith(f"{PUBLIC_URL}/app/welcome?tab=1#login_code=")

    async def test_a_verified_account_with_the_address_is_linked(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session, email=new_login())

        landing = await sign_in(client, user.email)

        me = (await client.get(ME, headers=await bearer_for(client, landing))).json()
        assert me["id"] == str(user.id)

    async def test_the_login_code_works_once(self, client: AsyncClient) -> None:
        landing = await sign_in(client, new_login())
        body = {"login_code": login_code_of(landing)}

        first = await client.post("/api/v1/auth/oauth/exchange", json=body)
        again = await client.post("/api/v1/auth/oauth/exchange", json=body)

        assert first.status_code == 200
        assert_error(again, 400, "INVALID_TOKEN")

    async def test_the_providers_are_listed(self, client: AsyncClient) -> None:
        listed = (await client.get("/api/v1/auth/oauth/providers")).json()

        assert listed == [
            {
                "name": "test",
                "display_name": "Test provider",
                "kind": "oidc",
                "authorize_url": AUTHORIZE,
            }
        ]


class TestRefusals:
    """Each refused with a clear reason on the result page (never a code), nothing created."""

    @pytest.fixture(autouse=True)
    async def nothing_created(self, session: AsyncSession) -> Any:
        before = await counts(session)
        yield
        assert await counts(session) == before

    async def test_a_wrong_state(self, client: AsyncClient) -> None:
        callback = await at_callback(client, new_login())

        landing = await open_callback(client, callback.replace("state=", "state=x"))

        assert error_of(landing) == "invalid_state"

    async def test_a_state_from_another_browser(self, client: AsyncClient) -> None:
        callback = await at_callback(client, new_login())
        client.cookies.clear()

        assert error_of(await open_callback(client, callback)) == "invalid_state"

    @pytest.mark.parametrize(
        "alteration",
        [
            {"nonce": "not-the-one-sent"},
            {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
            {"aud": "another-client"},
            {"iss": "https://impostor.example"},
        ],
        ids=["wrong nonce", "expired", "wrong audience", "wrong issuer"],
    )
    async def test_an_id_token_that_fails_validation(
        self,
        client: AsyncClient,
        openid_provider: OpenIDProvider,
        tampering: TamperingTransport,
        alteration: dict[str, Any],
    ) -> None:
        tampering.rewrite = lambda _token, claims: openid_provider.sign({**claims, **alteration})

        assert error_of(await sign_in(client, new_login())) == "invalid_response"

    async def test_a_tampered_signature(
        self, client: AsyncClient, tampering: TamperingTransport
    ) -> None:
        def flip(token: str, _claims: dict[str, Any]) -> str:
            head, payload, signature = token.split(".")
            changed = "A" if signature[-6] != "A" else "B"
            return f"{head}.{payload}.{signature[:-6]}{changed}{signature[-5:]}"

        tampering.rewrite = flip

        assert error_of(await sign_in(client, new_login())) == "invalid_response"

    async def test_claims_changed_under_the_providers_signature(
        self, client: AsyncClient, tampering: TamperingTransport
    ) -> None:
        def swap(token: str, claims: dict[str, Any]) -> str:
            head, _payload, signature = token.split(".")
            forged = token_part({**claims, "email": "victim@example.com"})
            return f"{head}.{forged}.{signature}"

        tampering.rewrite = swap

        assert error_of(await sign_in(client, new_login())) == "invalid_response"

    async def test_an_address_the_provider_has_not_verified(self, client: AsyncClient) -> None:
        landing = await sign_in(client, f"unverified:{new_login()}")

        assert error_of(landing) == "email_not_verified"

    async def test_the_person_refused_at_the_provider(self, client: AsyncClient) -> None:
        started = await client.get(AUTHORIZE)
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]

        landing = await open_callback(
            client, f"{CALLBACK}?{urlencode({'error': 'access_denied', 'state': state})}"
        )

        assert error_of(landing) == "provider_refused"

    @pytest.mark.parametrize(
        "target",
        [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "x",
        ],
    )
    async def test_an_open_redirect(self, client: AsyncClient, target: str) -> None:
        started = await client.get(AUTHORIZE, params={"redirect_to": target})

        assert_error(started, 422, "VALIDATION_ERROR")

    async def test_an_unknown_provider(self, client: AsyncClient) -> None:
        assert_error(await client.get("/api/v1/auth/oauth/nope/authorize"), 404, "NOT_FOUND")

    async def test_a_wrong_login_code(self, client: AsyncClient) -> None:
        wrong = await client.post("/api/v1/auth/oauth/exchange", json={"login_code": "x" * 43})

        assert_error(wrong, 400, "INVALID_TOKEN")


class TestExistingAccounts:
    """Refused for an account that exists: nothing created either."""

    async def test_an_unverified_local_account_with_the_address_is_not_taken_over(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session, email=new_login(), verified=False)
        before = await counts(session)

        landing = await sign_in(client, user.email)

        assert error_of(landing) == "account_exists"
        assert await counts(session) == before

    async def test_a_deactivated_account(self, client: AsyncClient, session: AsyncSession) -> None:
        user = await create_user(session, email=new_login(), is_active=False)
        before = await counts(session)

        assert error_of(await sign_in(client, user.email)) == "inactive"
        assert await counts(session) == before


class TestReplays:
    async def test_a_replayed_state(self, client: AsyncClient, session: AsyncSession) -> None:
        callback = await at_callback(client, new_login())
        first = await open_callback(client, callback)
        after_first = await counts(session)

        replay = await open_callback(client, callback)

        assert error_of(replay) == "invalid_state"
        assert await counts(session) == after_first
        assert "login_code=" in first

    async def test_a_replayed_provider_code(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        callback = await at_callback(client, new_login())
        code = parse_qs(urlsplit(callback).query)["code"][0]
        await open_callback(client, callback)
        after_first = await counts(session)

        started = await client.get(AUTHORIZE)
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        replay = await open_callback(
            client, f"{CALLBACK}?{urlencode({'code': code, 'state': state})}"
        )

        assert error_of(replay) == "invalid_response"
        assert await counts(session) == after_first


def token_part(claims: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
