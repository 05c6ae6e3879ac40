"""The console over HTTP, against an app committing to a migrated database of its own (its
audit events cannot be cleaned up); a client signs in to it as a browser does."""

import re
from dataclasses import dataclass

from httpx import AsyncClient, Response

from tests.audit.conftest import Audited, audited
from tests.users.factories import DEFAULT_PASSWORD, SignedIn

__all__ = ["audited"]

CSRF_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
CSRF_COOKIE = "starlette_admin_csrftoken"


def csrf_token(page: Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


@dataclass(frozen=True)
class Console:
    """A client signed in (or not) to the console."""

    client: AsyncClient

    async def login(
        self, email: str, password: str = DEFAULT_PASSWORD, *, code: str = ""
    ) -> Response:
        page = await self.client.get("/admin/login")
        form = {"username": email, "password": password, "csrftoken": csrf_token(page)}
        if code:
            form["code"] = code
        return await self.client.post("/admin/login", data=form)

    async def row_action(
        self, view: str, name: str, pk: object, *, csrf: bool = True, **form: str
    ) -> Response:
        """What the list page's script sends for a row action: its CSRF token in a header."""
        headers = {"X-CSRFToken": self.client.cookies[CSRF_COOKIE]} if csrf else {}
        return await self.client.post(
            f"/admin/_api/{view}/row-action",
            params={"name": name, "pk": str(pk)},
            data=form,
            headers=headers,
        )


async def signed_in_console(audited: Audited, user: SignedIn) -> Console:
    console = Console(audited.client)
    signed_in = await console.login(user.user.email)
    assert signed_in.status_code == 303, signed_in.text
    return console
