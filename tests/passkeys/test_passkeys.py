"""Passkeys through the API, answered by a software authenticator: registration, the
discoverable sign-in, single-use expiring challenges, signature counters (a clone refused),
user verification, origins, management and reauthentication."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from webauthn.helpers import bytes_to_base64url

from app.identity.models import AuditEvent, UserSession
from app.passkeys.models import PasskeyChallenge
from tests.assertions import assert_error
from tests.factors.conftest import Clock, Database
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.conftest import PASSKEYS, Registered, register, sign_in
from tests.users.factories import DEFAULT_PASSWORD, bearer, login

LOGIN = f"{PASSKEYS}/login/verify"
REAUTH = "/api/v1/auth/reauth"
PAST_THE_WINDOW = 10 * 60 + 1


async def events(db: Database, user_id: object, action: str) -> list[AuditEvent]:
    async with db.app.state.sessionmaker() as session:
        statement = select(AuditEvent).where(
            AuditEvent.subject_id == user_id, AuditEvent.action == action
        )
        return list(await session.scalars(statement))


class TestRegistration:
    async def test_the_passkey_is_listed_with_its_name(
        self, client: AsyncClient, db: Database, registered: Registered
    ) -> None:
        listed = await client.get(PASSKEYS, headers=registered.headers)

        assert listed.status_code == 200, listed.text
        [passkey] = listed.json()
        assert passkey["name"] == "Phone"
        assert passkey["transports"] == ["internal"]
        assert passkey["last_used_at"] is None
        assert len(await events(db, registered.user.id, "passkey.added")) == 1

    async def test_the_options_ask_for_a_resident_user_verifying_key(
        self, client: AsyncClient, registered: Registered
    ) -> None:
        options = await client.post(f"{PASSKEYS}/register/options", headers=registered.headers)

        public_key = options.json()["public_key"]
        assert public_key["authenticatorSelection"]["residentKey"] == "required"
        assert public_key["authenticatorSelection"]["userVerification"] == "required"
        excluded = [each["id"] for each in public_key["excludeCredentials"]]
        assert excluded == [bytes_to_base64url(registered.device.credential_id)]

    async def test_a_challenge_registers_one_passkey(
        self, client: AsyncClient, registered: Registered
    ) -> None:
        options = await client.post(f"{PASSKEYS}/register/options", headers=registered.headers)
        body = {
            "challenge_id": options.json()["challenge_id"],
            "credential": SoftAuthenticator(registered.device.origin).create(
                options.json()["public_key"]
            ),
        }

        first = await client.post(
            f"{PASSKEYS}/register/verify", headers=registered.headers, json=body
        )
        again = await client.post(
            f"{PASSKEYS}/register/verify", headers=registered.headers, json=body
        )

        assert first.status_code == 201, first.text
        assert first.json()["name"] == "Passkey"
        assert_error(again, 422, "VALIDATION_ERROR")

    async def test_without_user_verification_it_is_refused(
        self, client: AsyncClient, registered: Registered
    ) -> None:
        options = await client.post(f"{PASSKEYS}/register/options", headers=registered.headers)
        device = SoftAuthenticator(registered.device.origin)
        body = {
            "challenge_id": options.json()["challenge_id"],
            "credential": device.create(options.json()["public_key"], verified=False),
        }

        refused = await client.post(
            f"{PASSKEYS}/register/verify", headers=registered.headers, json=body
        )

        assert_error(refused, 422, "VALIDATION_ERROR")
        assert "verif" in refused.json()["detail"]

    async def test_another_users_challenge_is_not_theirs(
        self, client: AsyncClient, db: Database, registered: Registered
    ) -> None:
        other = bearer(await login(client, (await db.user()).email))
        options = await client.post(f"{PASSKEYS}/register/options", headers=registered.headers)
        body = {
            "challenge_id": options.json()["challenge_id"],
            "credential": SoftAuthenticator(registered.device.origin).create(
                options.json()["public_key"]
            ),
        }

        refused = await client.post(f"{PASSKEYS}/register/verify", headers=other, json=body)

        assert_error(refused, 422, "VALIDATION_ERROR")

    async def test_it_needs_a_recent_sign_in(
        self, client: AsyncClient, db: Database, clock: Clock, device: SoftAuthenticator
    ) -> None:
        user = await db.user()
        headers = bearer(await login(client, user.email))
        clock.advance(PAST_THE_WINDOW)

        stale = await client.post(f"{PASSKEYS}/register/options", headers=headers)
        await client.post(REAUTH, headers=headers, json={"password": DEFAULT_PASSWORD})

        assert_error(stale, 403, "REAUTH_REQUIRED")
        assert await register(client, headers, device)


class TestSignIn:
    async def test_a_passkey_alone_signs_in(
        self, client: AsyncClient, db: Database, registered: Registered
    ) -> None:
        challenge_id, credential = await sign_in(client, registered.device)

        answer = await client.post(
            LOGIN, json={"challenge_id": challenge_id, "credential": credential}
        )

        assert answer.status_code == 200, answer.text
        me = await client.get("/api/v1/users/me", headers=bearer(answer.json()["access_token"]))
        assert me.json()["email"] == registered.user.email
        statement = select(UserSession.second_factor).where(
            UserSession.user_id == registered.user.id, UserSession.second_factor.is_not(None)
        )
        assert await db.scalar(statement) == "passkey"
        [passkey] = (await client.get(PASSKEYS, headers=registered.headers)).json()
        assert passkey["last_used_at"] is not None

    async def test_a_challenge_signs_in_once(
        self, client: AsyncClient, registered: Registered
    ) -> None:
        challenge_id, credential = await sign_in(client, registered.device)
        body = {"challenge_id": challenge_id, "credential": credential}

        first = await client.post(LOGIN, json=body)
        replayed = await client.post(LOGIN, json=body)

        assert first.status_code == 200, first.text
        assert_error(replayed, 401, "INVALID_CREDENTIALS")

    async def test_a_challenge_expires(
        self, client: AsyncClient, clock: Clock, registered: Registered
    ) -> None:
        challenge_id, credential = await sign_in(client, registered.device)
        clock.advance(5 * 60 + 1)

        late = await client.post(
            LOGIN, json={"challenge_id": challenge_id, "credential": credential}
        )

        assert_error(late, 401, "INVALID_CREDENTIALS")
        assert "expired" in late.json()["detail"]

    async def test_a_cloned_authenticator_with_a_stale_counter_is_refused(
        self, client: AsyncClient, db: Database, registered: Registered
    ) -> None:
        clone = registered.device.copy()
        challenge_id, credential = await sign_in(client, registered.device)
        assert (
            await client.post(LOGIN, json={"challenge_id": challenge_id, "credential": credential})
        ).status_code == 200

        challenge_id, credential = await sign_in(client, clone)
        refused = await client.post(
            LOGIN, json={"challenge_id": challenge_id, "credential": credential}
        )

        assert_error(refused, 401, "INVALID_CREDENTIALS")
        [failed] = await events(db, registered.user.id, "passkey.failed")
        assert failed.details == {"reason": "stale_sign_count"}

    @pytest.mark.parametrize(
        ("assertion", "reason"),
        [
            ({"verified": False, "origin": None}, "invalid_assertion"),
            ({"verified": True, "origin": "https://phishing.example"}, "invalid_assertion"),
        ],
        ids=["without user verification", "from another origin"],
    )
    async def test_a_weak_or_foreign_assertion_is_refused(
        self,
        client: AsyncClient,
        db: Database,
        registered: Registered,
        assertion: dict[str, Any],
        reason: str,
    ) -> None:
        challenge_id, credential = await sign_in(client, registered.device, **assertion)

        refused = await client.post(
            LOGIN, json={"challenge_id": challenge_id, "credential": credential}
        )

        assert_error(refused, 401, "INVALID_CREDENTIALS")
        [failed] = await events(db, registered.user.id, "passkey.failed")
        assert failed.details == {"reason": reason}

    async def test_an_unknown_passkey_is_refused(
        self, client: AsyncClient, device: SoftAuthenticator, registered: Registered
    ) -> None:
        stranger = SoftAuthenticator(registered.device.origin, user_handle=b"x" * 16)
        challenge_id, credential = await sign_in(client, stranger)

        refused = await client.post(
            LOGIN, json={"challenge_id": challenge_id, "credential": credential}
        )

        assert_error(refused, 401, "INVALID_CREDENTIALS")

    async def test_a_malformed_answer_is_refused_in_the_envelope(
        self, client: AsyncClient, registered: Registered
    ) -> None:
        challenge_id, _ = await sign_in(client, registered.device)

        refused = await client.post(LOGIN, json={"challenge_id": challenge_id, "credential": {}})

        assert_error(refused, 401, "INVALID_CREDENTIALS")


class TestManagement:
    async def test_rename_and_remove(self, client: AsyncClient, registered: Registered) -> None:
        url = f"{PASSKEYS}/{registered.passkey['id']}"

        renamed = await client.patch(url, headers=registered.headers, json={"name": "Laptop"})
        removed = await client.delete(url, headers=registered.headers)
        challenge_id, credential = await sign_in(client, registered.device)
        refused = await client.post(
            LOGIN, json={"challenge_id": challenge_id, "credential": credential}
        )

        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name"] == "Laptop"
        assert removed.status_code == 204, removed.text
        assert (await client.get(PASSKEYS, headers=registered.headers)).json() == []
        assert_error(refused, 401, "INVALID_CREDENTIALS")

    async def test_another_users_passkey_is_not_found(
        self, client: AsyncClient, db: Database, registered: Registered
    ) -> None:
        other = bearer(await login(client, (await db.user()).email))
        url = f"{PASSKEYS}/{registered.passkey['id']}"

        renamed = await client.patch(url, headers=other, json={"name": "Mine"})
        removed = await client.delete(url, headers=other)

        assert_error(renamed, 404, "NOT_FOUND")
        assert_error(removed, 404, "NOT_FOUND")
        assert len((await client.get(PASSKEYS, headers=registered.headers)).json()) == 1

    async def test_removing_needs_a_recent_sign_in(
        self, client: AsyncClient, clock: Clock, registered: Registered
    ) -> None:
        clock.advance(PAST_THE_WINDOW)

        stale = await client.delete(
            f"{PASSKEYS}/{registered.passkey['id']}", headers=registered.headers
        )

        assert_error(stale, 403, "REAUTH_REQUIRED")


class TestReauthentication:
    async def test_a_passkey_reopens_the_window(
        self, client: AsyncClient, db: Database, clock: Clock, registered: Registered
    ) -> None:
        clock.advance(PAST_THE_WINDOW)
        options = await client.post(f"{PASSKEYS}/reauth/options", headers=registered.headers)
        assertion = {
            "challenge_id": options.json()["challenge_id"],
            "credential": registered.device.get(options.json()["public_key"]),
        }

        proved = await client.post(REAUTH, headers=registered.headers, json={"passkey": assertion})
        replayed = await client.post(
            REAUTH, headers=registered.headers, json={"passkey": assertion}
        )
        removed = await client.delete(
            f"{PASSKEYS}/{registered.passkey['id']}", headers=registered.headers
        )

        allowed = [each["id"] for each in options.json()["public_key"]["allowCredentials"]]
        assert len(allowed) == 1
        assert proved.status_code == 204, proved.text
        assert_error(replayed, 401, "INVALID_CREDENTIALS")
        assert removed.status_code == 204, removed.text
        [event] = await events(db, registered.user.id, "auth.reauthenticated")
        assert event.details == {"with": "passkey"}

    async def test_without_a_passkey_there_is_nothing_to_ask(
        self, client: AsyncClient, db: Database
    ) -> None:
        headers = bearer(await login(client, (await db.user()).email))

        missing = await client.post(f"{PASSKEYS}/reauth/options", headers=headers)

        assert_error(missing, 404, "NOT_FOUND")


async def test_the_challenges_table_keeps_only_live_ones(
    client: AsyncClient, db: Database, clock: Clock
) -> None:
    for _ in range(3):
        await client.post(f"{PASSKEYS}/login/options")
    clock.advance(5 * 60 + 1)
    await client.post(f"{PASSKEYS}/login/options")

    dead = select(func.count()).where(PasskeyChallenge.expires_at <= clock.now)
    assert await db.scalar(dead) == 0
