"""Registration, login and password change over HTTP."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import PasswordHasher
from tests.assertions import assert_error
from tests.conftest import LogCapture
from tests.sessions.factories import stored_sessions
from tests.users.factories import (
    DEFAULT_PASSWORD,
    bearer,
    create_user,
    login,
    signed_in,
    unique_email,
)

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"


class TestRegister:
    async def test_creates_user_without_exposing_the_hash(self, client: AsyncClient) -> None:
        response = await client.post(
            REGISTER, json={"email": "new@example.com", "password": DEFAULT_PASSWORD}
        )

        assert response.status_code == 201
        body = response.json()
        assert body["email"] == "new@example.com"
        assert body["is_active"] is True
        assert body["is_superuser"] is False
        assert "hashed_password" not in body
        assert "password" not in body

    async def test_email_is_trimmed_and_lower_cased(self, client: AsyncClient) -> None:
        response = await client.post(
            REGISTER, json={"email": "  MiXeD@Example.COM ", "password": DEFAULT_PASSWORD}
        )

        assert response.json()["email"] == "mixed@example.com"

    async def test_duplicate_email_in_other_case_is_409(self, client: AsyncClient) -> None:
        await client.post(REGISTER, json={"email": "dup@example.com", "password": DEFAULT_PASSWORD})

        response = await client.post(
            REGISTER, json={"email": "DUP@example.com", "password": DEFAULT_PASSWORD}
        )

        assert_error(response, 409, "ALREADY_EXISTS")

    @pytest.mark.parametrize("email", [{}, ["a@example.com"], 5, None, "not-an-email"])
    async def test_malformed_email_is_422(self, client: AsyncClient, email: object) -> None:
        response = await client.post(REGISTER, json={"email": email, "password": DEFAULT_PASSWORD})

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "email"]

    @pytest.mark.parametrize("password", ["short", "x" * 129])
    async def test_password_length_is_8_to_128(self, client: AsyncClient, password: str) -> None:
        response = await client.post(REGISTER, json={"email": unique_email(), "password": password})

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "password"]

    @pytest.mark.parametrize(
        "password",
        [
            " " * 12,
            "\u200b" * 12,
            "\u3164\u00a0\u2003\u200d\ufeff\u2800\t\n",
            "password1",
            "Password1",
            "  iloveyou12 ",
            "zzzzzzzzzz",
        ],
        ids=[
            "spaces",
            "zero-width",
            "invisible-mix",
            "common",
            "common-case",
            "common-padded",
            "one-char",
        ],
    )
    async def test_blank_common_or_repeated_passwords_are_refused(
        self, client: AsyncClient, password: str
    ) -> None:
        response = await client.post(REGISTER, json={"email": unique_email(), "password": password})

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "password"]

    async def test_the_email_is_no_password(self, client: AsyncClient) -> None:
        email = unique_email()

        whole = await client.post(REGISTER, json={"email": email, "password": email.upper()})
        local = await client.post(REGISTER, json={"email": email, "password": email.split("@")[0]})

        assert (whole.status_code, local.status_code) == (422, 422)
        assert whole.json()["errors"][0]["loc"] == ["body", "password"]

    async def test_a_passphrase_with_spaces_and_any_script_is_fine(
        self, client: AsyncClient
    ) -> None:
        response = await client.post(
            REGISTER, json={"email": unique_email(), "password": "ünïcödé ☃ passphrase"}
        )

        assert response.status_code == 201

    async def test_openapi_describes_the_password_rules(self, app: FastAPI) -> None:
        schema = app.openapi()["components"]["schemas"]["UserCreate"]["properties"]["password"]

        assert "most common passwords" in schema["description"]

    @pytest.mark.parametrize(
        "field",
        [
            ("is_superuser", True),
            ("id", "00000000-0000-0000-0000-000000000001"),
            ("hashed_password", "x"),
            ("is_active", False),
        ],
    )
    async def test_mass_assignment_is_refused(
        self, client: AsyncClient, field: tuple[str, object]
    ) -> None:
        name, value = field
        body = {"email": unique_email(), "password": DEFAULT_PASSWORD, name: value}

        response = await client.post(REGISTER, json=body)

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", name]


class TestLogin:
    async def test_returns_an_opaque_bearer_token(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)

        response = await client.post(
            LOGIN, json={"email": user.email.upper(), "password": DEFAULT_PASSWORD}
        )

        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert len(body["access_token"]) >= 43  # 32 random bytes, base64url
        expires_at = datetime.fromisoformat(body["expires_at"])
        assert expires_at - datetime.now(UTC) > timedelta(days=13, hours=23)

    @pytest.mark.parametrize(
        ("registered", "typed"),
        [
            ("e@xn--exmple-cua.com", "e@xn--exmple-cua.com"),
            ("e@xn--exmple-cua.com", "E@EXÄMPLE.COM"),
            ("e@exämple.com", "e@xn--exmple-cua.com"),
            ("wide@example.com", "wide@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com"),
            ("cafe\u0301@example.com", "caf\u00e9@example.com"),
        ],
        ids=["idna", "idna-unicode-upper", "unicode-idna", "fullwidth", "nfc"],
    )
    async def test_every_spelling_of_the_registered_address_logs_in(
        self, client: AsyncClient, registered: str, typed: str
    ) -> None:
        registration = await client.post(
            REGISTER, json={"email": registered, "password": DEFAULT_PASSWORD}
        )
        form = {"username": typed, "password": DEFAULT_PASSWORD}

        by_json = await client.post(LOGIN, json={"email": typed, "password": DEFAULT_PASSWORD})
        by_form = await client.post("/api/v1/auth/token", data=form)

        assert registration.status_code == 201
        assert (by_json.status_code, by_form.status_code) == (200, 200)

    async def test_oauth2_password_form_works(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)

        response = await client.post(
            "/api/v1/auth/token", data={"username": user.email, "password": DEFAULT_PASSWORD}
        )

        assert response.status_code == 200
        me = await client.get(ME, headers=bearer(response.json()["access_token"]))
        assert me.json()["email"] == user.email

    async def test_wrong_password_unknown_email_and_inactive_user_look_alike(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        active = await create_user(session)
        inactive = await create_user(session, is_active=False)

        answers = [
            await client.post(LOGIN, json={"email": active.email, "password": "wrong-password"}),
            await client.post(LOGIN, json={"email": unique_email(), "password": DEFAULT_PASSWORD}),
            await client.post(LOGIN, json={"email": inactive.email, "password": DEFAULT_PASSWORD}),
        ]

        assert {a.status_code for a in answers} == {401}
        assert {a.json()["error_code"] for a in answers} == {"INVALID_CREDENTIALS"}
        assert {a.json()["detail"] for a in answers} == {"Invalid email or password"}
        assert {a.headers["WWW-Authenticate"] for a in answers} == {"Bearer"}

    async def test_unknown_email_still_verifies_a_hash(
        self, client: AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hasher: PasswordHasher = app.state.password_hasher
        checked: list[str | None] = []
        original = hasher.verify

        async def spy(password: str, hashed: str | None) -> tuple[bool, str | None]:
            checked.append(hashed)
            return await original(password, hashed)

        monkeypatch.setattr(hasher, "verify", spy)

        await client.post(LOGIN, json={"email": unique_email(), "password": DEFAULT_PASSWORD})

        assert checked == [None]  # verified against the dummy hash: same work, same timing

    async def test_failed_login_writes_nothing(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        updated_at = user.updated_at

        await client.post(LOGIN, json={"email": user.email, "password": "wrong-password"})

        assert await stored_sessions(session, user) == []
        await session.refresh(user)
        assert user.updated_at == updated_at

    async def test_outdated_hash_is_upgraded_on_login(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        old = PasswordHasher(time_cost=2, memory_kib=2048, parallelism=1, concurrency=1)
        user = await create_user(session, hashed_password=await old.hash(DEFAULT_PASSWORD))
        assert "m=2048,t=2" in str(user.hashed_password)

        await login(client, user.email)

        await session.refresh(user)
        assert "m=1024,t=1,p=1" in str(user.hashed_password)
        await login(client, user.email)  # the new hash verifies


class TestChangePassword:
    async def test_changes_password_and_revokes_other_sessions(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        this = bearer(await login(client, user.email))
        other = bearer(await login(client, user.email))

        response = await client.post(
            "/api/v1/auth/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": "brand new secret"},
            headers=this,
        )

        assert response.status_code == 204
        assert (await client.get(ME, headers=this)).status_code == 200
        assert (await client.get(ME, headers=other)).status_code == 401
        old = await client.post(LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD})
        assert old.status_code == 401
        await login(client, user.email, "brand new secret")

    async def test_wrong_current_password_changes_nothing(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user, headers = await signed_in(client, session)

        response = await client.post(
            "/api/v1/auth/password",
            json={"current_password": "not my password", "new_password": "brand new secret"},
            headers=headers,
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "current_password"]
        await login(client, user.email)

    @pytest.mark.parametrize("new_password", ["email", "qwertyuiop", "\u200b" * 9])
    async def test_the_new_password_follows_the_registration_rules(
        self, client: AsyncClient, session: AsyncSession, new_password: str
    ) -> None:
        user, headers = await signed_in(client, session)
        chosen = user.email if new_password == "email" else new_password

        response = await client.post(
            "/api/v1/auth/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": chosen},
            headers=headers,
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "new_password"]
        await login(client, user.email)


class TestLogs:
    async def test_no_token_or_password_is_ever_logged(
        self, client: AsyncClient, logs: LogCapture
    ) -> None:
        password = "unique-password-8472"
        email = unique_email()
        await client.post(REGISTER, json={"email": email, "password": password})
        token = await login(client, email, password)
        await client.get(ME, headers=bearer(token))
        await client.post(LOGIN, json={"email": email, "password": "wrong-" + password})
        await client.post("/api/v1/auth/logout", headers=bearer(token))

        text = "\n".join(logs.lines)
        assert len(logs.lines) >= 5
        assert password not in text
        assert token not in text
        assert hashlib.sha256(token.encode()).hexdigest() not in text
