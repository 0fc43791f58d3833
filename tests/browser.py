"""The inbox page in Debian's headless Chromium, driven by Playwright (no browser is ever downloaded): one place that
starts the browser, opens the page, pastes a token and loads the queue, and fails the test on any script error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium; `make browser` "
    "does it as root)",
)


@asynccontextmanager
async def inbox(api_url: str, token: str, fragment: str = "", height: int = 900) -> AsyncIterator[Page]:
    """The inbox page with `token` pasted and Load pressed; `fragment` is the address's #part (e.g. a Slack
    message's `#draft=…` link). Script errors on the page fail the test once the block ends."""
    from playwright.async_api import async_playwright

    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": height})
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{api_url}/app/renewal_hunter/inbox{fragment}")
        await page.fill("#token", token)
        await page.click("#load")
        yield page
        await browser.close()
    assert errors == [], f"script errors on the inbox page: {errors}"
