"""An authenticator app through the API, with real codes computed by pyotp and the app's clock
moved by the test: enrolment, the sign-in's second step, replays, the window's edges, recovery
codes, wrong codes and their limits."""

import pyotp
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, update

from app.core.security import PasswordHasher
from app.factors.models import TotpFactor
from app.identity.models import AuditEvent, User, UserSession
from tests.assertions import assert_error
from tests.factors.conftest import LOGIN_MFA, TOTP, Clock, Database, Enrolled, mfa_token
from tests.users.factories import DEFAULT_PASSWORD, bearer, login


async def second_step(client: AsyncClient, token: str, **factor: str) -> dict[str, str]:
    answer = await client.post(LOGIN_MFA, json={"mfa_token": token, **factor})
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


async def sessions_of(db: Database, enrolled: Enrolled) -> int:
    statement = select(func.count()).where(UserSession.user_id == enrolled.user.id)
    return int(await db.scalar(statement) or 0)


class TestEnrolment:
    async def test_the_app_gets_a_seed_it_can_scan(
        self, client: AsyncClient, db: Database, clock: Clock
    ) -> None:
        user = await db.user()
        headers = bearer(await login(client, user.email))

        started = (await client.post(TOTP, headers=headers)).json()

        uri = pyotp.parse_uri(started["otpauth_uri"])
        assert isinstance(uri, pyotp.TOTP)
        assert uri.secret == started["secret"]
        assert (uri.name, uri.issuer) == (user.email, "app")
        assert started["qr_svg"].startswith("<svg")
        stored = await db.scalar(select(TotpFactor.secret).where(TotpFactor.user_id == user.id))
        assert stored is not None
        assert started["secret"] not in stored  # encrypted at rest

    async def test_confirming_turns_it_on_with_ten_single_use_recovery_codes(
        self, client: AsyncClient, enrolled: Enrolled, db: Database
    ) -> None:
        assert len(set(enrolled.recovery_codes)) == 10
        again = await client.post(TOTP, headers=enrolled.headers)

        assert_error(again, 409, "CONFLICT")
        action = await db.scalar(
            select(AuditEvent.action).where(
                AuditEvent.action == "factor.totp_enabled",
                AuditEvent.subject_id == enrolled.user.id,
            )
        )
        assert action == "factor.totp_enabled"

    async def test_a_wrong_first_code_leaves_it_off(
        self, client: AsyncClient, db: Database, clock: Clock
    ) -> None:
        user = await db.user()
        headers = bearer(await login(client, user.email))
        secret = (await client.post(TOTP, headers=headers)).json()["secret"]
        wrong = pyotp.TOTP(secret).at(clock.now.timestamp() + 300)

        refused = await client.post(f"{TOTP}/confirm", headers=headers, json={"code": wrong})

        assert_error(refused, 401, "INVALID_CODE")
        assert await login(client, user.email)  # still a sign-in with the password alone

    async def test_enrolling_needs_a_session(self, client: AsyncClient) -> None:
        assert_error(await client.post(TOTP), 401, "UNAUTHORIZED")


class TestSignIn:
    async def test_the_password_alone_gives_no_session(
        self, client: AsyncClient, enrolled: Enrolled, db: Database
    ) -> None:
        before = await sessions_of(db, enrolled)

        token = await mfa_token(client, enrolled.user.email)

        assert token
        assert await sessions_of(db, enrolled) == before

    async def test_the_next_code_finishes_the_sign_in_once(
        self, client: AsyncClient, enrolled: Enrolled, clock: Clock, db: Database
    ) -> None:
        clock.advance(30)
        token = await mfa_token(client, enrolled.user.email)

        headers = await second_step(client, token, code=enrolled.code(clock))
        again = await client.post(LOGIN_MFA, json={"mfa_token": token, "code": "000000"})

        me = await client.get("/api/v1/users/me", headers=headers)
        assert me.json()["id"] == str(enrolled.user.id)
        assert_error(again, 400, "INVALID_TOKEN")
        details = await db.scalar(
            select(AuditEvent.details)
            .where(AuditEvent.action == "auth.login", AuditEvent.subject_id == enrolled.user.id)
            .order_by(AuditEvent.at.desc())
        )
        assert details == {"second_factor": "totp"}

    async def test_a_code_is_good_once(
        self, client: AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        # The code of the step that confirmed the enrolment was used then.
        token = await mfa_token(client, enrolled.user.email)

        replayed = await client.post(
            LOGIN_MFA, json={"mfa_token": token, "code": enrolled.code(clock)}
        )

        assert_error(replayed, 401, "INVALID_CODE")

    @pytest.mark.parametrize(
        ("steps", "accepted"), [(-1, True), (1, True), (-2, False), (2, False)]
    )
    async def test_the_window_is_one_step_either_side(
        self,
        client: AsyncClient,
        enrolled: Enrolled,
        clock: Clock,
        steps: int,
        accepted: bool,
    ) -> None:
        clock.advance(90)  # past the confirming step, so that -1 and -2 are unused steps
        token = await mfa_token(client, enrolled.user.email)

        answer = await client.post(
            LOGIN_MFA, json={"mfa_token": token, "code": enrolled.code(clock, steps=steps)}
        )

        assert answer.status_code == (200 if accepted else 401), answer.text

    async def test_an_mfa_token_expires(
        self, client: AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        token = await mfa_token(client, enrolled.user.email)
        clock.advance(5 * 60 + 1)

        late = await client.post(LOGIN_MFA, json={"mfa_token": token, "code": enrolled.code(clock)})

        assert_error(late, 400, "INVALID_TOKEN")

    async def test_an_outdated_password_hash_is_upgraded_once_the_factor_passed(
        self, client: AsyncClient, enrolled: Enrolled, clock: Clock, db: Database
    ) -> None:
        old = PasswordHasher(time_cost=2, memory_kib=2048, parallelism=1, concurrency=1)
        outdated = await old.hash(DEFAULT_PASSWORD)
        stored = select(User.hashed_password).where(User.id == enrolled.user.id)
        async with db.app.state.sessionmaker.begin() as session:
            where = User.id == enrolled.user.id
            await session.execute(update(User).where(where).values(hashed_password=outdated))
        clock.advance(30)

        token = await mfa_token(client, enrolled.user.email)
        waiting = await db.scalar(stored)
        await second_step(client, token, code=enrolled.code(clock))

        assert waiting == outdated
        assert "m=1024,t=1,p=1" in await db.scalar(stored)

    async def test_the_oauth2_form_asks_for_the_factor_too(
        self, client: AsyncClient, enrolled: Enrolled
    ) -> None:
        form = {"username": enrolled.user.email, "password": "correct horse battery"}

        answer = await client.post("/api/v1/auth/token", data=form)

        assert_error(answer, 401, "MFA_REQUIRED")
        assert answer.json()["mfa_token"]


class TestRecoveryCodes:
    async def test_each_signs_in_once(
        self, client: AsyncClient, enrolled: Enrolled, db: Database
    ) -> None:
        code = enrolled.recovery_codes[0]
        token = await mfa_token(client, enrolled.user.email)

        await second_step(client, token, recovery_code=code.upper().replace("-", " "))
        second = await mfa_token(client, enrolled.user.email)
        reused = await client.post(LOGIN_MFA, json={"mfa_token": second, "recovery_code": code})

        assert_error(reused, 401, "INVALID_CODE")
        await second_step(client, second, recovery_code=enrolled.recovery_codes[1])
        used = await db.scalar(
            select(func.count()).where(
                AuditEvent.action == "factor.recovery_code_used",
                AuditEvent.subject_id == enrolled.user.id,
            )
        )
        assert used == 2
        status = await client.get("/api/v1/auth/2fa", headers=enrolled.headers)
        assert status.json() == {"totp_enabled": True, "recovery_codes_left": 8}

    async def test_a_factor_is_needed(self, client: AsyncClient, enrolled: Enrolled) -> None:
        token = await mfa_token(client, enrolled.user.email)

        neither = await client.post(LOGIN_MFA, json={"mfa_token": token})

        assert_error(neither, 422, "VALIDATION_ERROR")


class TestWrongCodes:
    async def test_the_token_dies_after_five(
        self, client: AsyncClient, enrolled: Enrolled, clock: Clock, db: Database
    ) -> None:
        clock.advance(30)
        token = await mfa_token(client, enrolled.user.email)
        wrong = {"mfa_token": token, "code": enrolled.code(clock, steps=5)}

        answers = [
            (await client.post(LOGIN_MFA, json=wrong)).json()["error_code"] for _ in range(6)
        ]
        right = await client.post(
            LOGIN_MFA, json={"mfa_token": token, "code": enrolled.code(clock)}
        )

        assert answers == ["INVALID_CODE"] * 5 + ["INVALID_TOKEN"]
        assert_error(right, 400, "INVALID_TOKEN")
        failed = await db.scalar(
            select(func.count()).where(
                AuditEvent.action == "auth.mfa_failed", AuditEvent.subject_id == enrolled.user.id
            )
        )
        assert failed == 5

    async def test_they_count_against_the_login_limit(
        self, client: AsyncClient, enrolled: Enrolled, clock: Clock
    ) -> None:
        # The default per-email limit is 5 failures in 15 minutes.
        for _ in range(5):
            token = await mfa_token(client, enrolled.user.email)
            wrong = {"mfa_token": token, "code": enrolled.code(clock, steps=5)}
            assert_error(await client.post(LOGIN_MFA, json=wrong), 401, "INVALID_CODE")

        password = await client.post(
            "/api/v1/auth/login",
            json={"email": enrolled.user.email, "password": "correct horse battery"},
        )

        assert_error(password, 429, "RATE_LIMITED")
