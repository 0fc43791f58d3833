"""Retake docs/inbox.png from a running `make demo`: Debian's chromium, headless, driven by Playwright.

.venv/bin/python docs/inbox_screenshot.py [http://127.0.0.1:8000] [.renewals]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from playwright.async_api import async_playwright

HERE = Path(__file__).parent


async def main(base: str, data_dir: Path) -> None:
    token = (data_dir / "demo-operator-token").read_text().strip()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        await page.goto(f"{base}/app/renewal_hunter/inbox")
        await page.fill("#token", token)
        await page.click("#load")
        await page.locator(".item").first.click()  # the most urgent draft: HIGH severity, largest account
        await page.locator("#send").wait_for()
        await page.fill("#token", "")  # not the token in the picture
        await page.screenshot(path=str(HERE / "inbox.png"))
        await browser.close()


if __name__ == "__main__":
    asyncio.run(
        main(
            sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000",
            Path(sys.argv[2:3] and sys.argv[2] or ".renewals"),
        )
    )
