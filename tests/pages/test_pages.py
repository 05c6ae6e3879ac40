"""The pages behind the mailed links, through HTTP: each acts only on a confirmed, CSRF-checked
form (never on the GET a mail scanner makes), shows every refusal in words, and leaves nothing
half-done when it refuses."""

import pytest
from httpx import AsyncClient, Response

from app.pages.rendering import CONTENT_SECURITY_POLICY
from tests.accounts.conftest import Register
from tests.assertions import assert_error
from tests.mail import Mailbox, token_in
from tests.pages.forms import csrf_of, submit
from tests.users.factories import DEFAULT_PASSWORD, bearer, login

ME = "/api/v1/users/me"
VERIFY_PAGE = "/account/verify-email"
RESET_PAGE = "/account/reset-password"
NEW_PASSWORD = "a brand new passphrase"


def assert_page(response: Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for word in words:
        assert word in response.text, response.text


async def verification_token(mailbox: Mailbox, email: str) -> str:
    return token_in((await mailbox.wait_for(email))[0])


async def reset_token(client: AsyncClient, mailbox: Mailbox, email: str) -> str:
    response = await client.post("/api/v1/auth/password-reset", json={"email": email})
    assert response.status_code == 202
    return token_in((await mailbox.wait_for(email, count=2))[-1])


async def is_verified(client: AsyncClient, email: str) -> bool:
    me = await client.get(ME, headers=bearer(await login(client, email)))
    return me.json()["email_verified_at"] is not None


class TestVerifyEmail:
    async def test_the_link_asks_and_the_button_verifies(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()
        token = await verification_token(mailbox, email)

        page = await client.get(VERIFY_PAGE, params={"token": token})
        assert_page(page, 200, email, "Confirm my address")
        assert not await is_verified(client, email)

        done = await client.post(VERIFY_PAGE, data={"csrf_token": csrf_of(page), "token": token})
        assert_page(done, 200, "Your address is verified")
        assert await is_verified(client, email)

    async def test_a_used_link_is_told_in_words(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()
        token = await verification_token(mailbox, email)
        assert_page(await submit(client, VERIFY_PAGE, token), 200)

        again = await client.get(VERIFY_PAGE, params={"token": token})

        assert_page(again, 400, "The link is invalid, expired or already used")

    @pytest.mark.parametrize("token", ["", "wrong", "x" * 5000])
    async def test_a_wrong_link(self, client: AsyncClient, token: str) -> None:
        page = await client.get(VERIFY_PAGE, params={"token": token})

        assert_page(page, 400, "The link is invalid, expired or already used")

    async def test_a_form_without_its_csrf_token_changes_nothing(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()
        token = await verification_token(mailbox, email)
        await client.get(VERIFY_PAGE, params={"token": token})

        forged = await client.post(VERIFY_PAGE, data={"token": token, "csrf_token": "0" * 64})
        bare = await client.post(VERIFY_PAGE, data={"token": token})

        assert_page(forged, 403, "This form has expired")
        assert_page(bare, 403, "This form has expired")
        assert not await is_verified(client, email)
        assert_page(await submit(client, VERIFY_PAGE, token), 200)

    @pytest.mark.parametrize(
        "headers", [{"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}]
    )
    async def test_a_form_sent_from_another_site_is_refused(
        self,
        client: AsyncClient,
        mailbox: Mailbox,
        register: Register,
        headers: dict[str, str],
    ) -> None:
        email = await register()
        token = await verification_token(mailbox, email)
        page = await client.get(VERIFY_PAGE, params={"token": token})

        sent = await client.post(
            VERIFY_PAGE, data={"csrf_token": csrf_of(page), "token": token}, headers=headers
        )

        assert_page(sent, 403, "sent from another site")
        assert not await is_verified(client, email)

    async def test_the_token_of_one_cookie_does_not_serve_another(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()
        token = await verification_token(mailbox, email)
        page = await client.get(VERIFY_PAGE, params={"token": token})
        client.cookies.clear()
        await client.get(VERIFY_PAGE, params={"token": token})

        sent = await client.post(VERIFY_PAGE, data={"csrf_token": csrf_of(page), "token": token})

        assert_page(sent, 403)


class TestResetPassword:
    async def test_the_form_sets_the_new_password(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()
        token = await reset_token(client, mailbox, email)

        page = await client.get(RESET_PAGE, params={"token": token})
        assert_page(page, 200, email, 'autocomplete="new-password"', "most common passwords")
        fields = {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
        done = await client.post(
            RESET_PAGE, data={"csrf_token": csrf_of(page), "token": token, **fields}
        )

        assert_page(done, 200, "Your new password is set")
        await login(client, email, NEW_PASSWORD)

    @pytest.mark.parametrize(
        ("password", "again", "problem"),
        [
            (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords differ"),
            ("short", "short", "A password has 8 to 128 characters; this one has 5"),
            ("password123", "password123", "one of the most common passwords"),
        ],
    )
    async def test_a_refused_password_shows_the_form_again_and_keeps_the_link(
        self,
        client: AsyncClient,
        mailbox: Mailbox,
        register: Register,
        password: str,
        again: str,
        problem: str,
    ) -> None:
        email = await register()
        token = await reset_token(client, mailbox, email)

        refused = await submit(
            client, RESET_PAGE, token, new_password=password, new_password_again=again
        )

        assert_page(refused, 422, problem, 'id="new_password"', token)
        await login(client, email, DEFAULT_PASSWORD)
        fields = {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
        retried = await client.post(
            RESET_PAGE, data={"csrf_token": csrf_of(refused), "token": token, **fields}
        )
        assert_page(retried, 200, "Your new password is set")

    async def test_a_verification_link_opens_no_reset_form(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()
        token = await verification_token(mailbox, email)

        assert_page(await client.get(RESET_PAGE, params={"token": token}), 400)


async def change_email(client: AsyncClient, email: str) -> tuple[str, dict[str, str]]:
    """Asks to change the address to a new one: the new address, and the user's session."""
    new_email = "new-" + email
    headers = bearer(await login(client, email))
    body = {"new_email": new_email, "current_password": DEFAULT_PASSWORD}
    assert (await client.post("/api/v1/users/me/email", json=body, headers=headers)).is_success
    return new_email, headers


class TestEmailChange:
    async def test_confirming_from_the_new_address(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()
        new_email, headers = await change_email(client, email)
        token = token_in((await mailbox.wait_for(new_email))[0])

        page = await client.get("/account/confirm-email", params={"token": token})
        assert_page(page, 200, new_email, email)
        done = await client.post(
            "/account/confirm-email", data={"csrf_token": csrf_of(page), "token": token}
        )

        assert_page(done, 200, "The new address is your account")
        assert (await client.get(ME, headers=headers)).json()["email"] == new_email

    async def test_calling_it_off_from_the_old_address(
        self, client: AsyncClient, mailbox: Mailbox, register: Register
    ) -> None:
        email = await register()
        new_email, _headers = await change_email(client, email)
        confirm = token_in((await mailbox.wait_for(new_email))[0])
        cancel = token_in((await mailbox.wait_for(email, count=2))[-1])

        done = await submit(client, "/account/cancel-email-change", cancel)

        assert_page(done, 200, "Your address stays as it is")
        late = await client.post("/api/v1/auth/email-change/confirm", json={"token": confirm})
        assert_error(late, 400, "INVALID_TOKEN")
