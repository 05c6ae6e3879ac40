"""A real headless Chromium: Debian's, driven by Playwright (no browser download). Tests of this
folder skip where it is not installed."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Generous for a loaded two-core CI machine; every wait still ends on its own.
TIMEOUT_MS = 20_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    needs_chromium = pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (`apt-get install chromium`)"
    )
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(needs_chromium)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    # The async API: the sync one cannot share a thread with the suite's asyncio loop.
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    page = await browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    await page.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the pages' screenshots go: `SCREENSHOTS` (the README's come from there), or a
    folder of the test's."""
    folder = Path(os.environ.get("SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
