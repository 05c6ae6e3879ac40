"""Reading the pages' forms as a browser would."""

import re
from html import unescape

from httpx import AsyncClient, Response

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return unescape(found.group(1))


async def submit(client: AsyncClient, path: str, token: str, **fields: str) -> Response:
    """Opens the page of a mailed link and sends its form, with the cookie it set."""
    page = await client.get(path, params={"token": token})
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page), "token": token, **fields}
    return await client.post(path, data=data)
