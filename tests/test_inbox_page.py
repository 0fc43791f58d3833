"""The inbox page in headless Chromium (Debian's, driven by Playwright; no browser download): an operator
pastes a token, opens a draft with its evidence and diary side by side, and presses Send — one email arrives.
A screenshot is kept in tests/artifacts/ for a person to look at."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client

from api.scans import start_scan
from db import tenants
from db.pool import Database
from schemas.workflow_io import TenantScanResult
from tests.conftest import AS_OF, create_tenant, eventually, manifest_key
from workers.stack import SmtpSink

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [pytest.mark.usefixtures("workers"),
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="Debian's chromium is not installed (make test installs it when run as root)")]


async def test_an_operator_sends_a_draft_from_the_inbox_page(
        owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: object, workspace: Path, client: Client,
        api_url: str, smtp: SmtpSink) -> None:
    from playwright.async_api import async_playwright

    tid = await create_tenant(owner, db, secret_key, stripe_key=manifest_key(workspace, "stripe"),
                              stripe_base=sandbox.stripe_api_base)  # type: ignore[attr-defined]
    await client.get_workflow_handle(await start_scan(client, tid, AS_OF), result_type=TenantScanResult).result()
    async with db.tenant(tid) as conn:
        token = await tenants.create_token(conn, tid, "operator", "browser")
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        await page.goto(f"{api_url}/app/renewal_hunter/inbox")
        await page.fill("#token", token)
        await page.click("#load")
        first = page.locator(".item").first
        await first.wait_for()
        customer = (await first.locator("b").inner_text()).strip()
        await first.click()
        await page.locator("#send").wait_for()
        assert customer.lower() in (await page.locator("#detail").inner_text()).lower()
        assert await page.locator("#detail .entry code").count() > 0          # evidence with its source ids
        assert "diary" in (await page.locator("#detail").inner_text()).lower()
        await page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)
        before = len(smtp.messages)
        await page.click("#send")
        await page.wait_for_function("document.querySelector('#status').textContent.length > 0")
        assert (await page.locator("#status").inner_text()).strip() in ("sent", "already sent")
        await browser.close()

    async def one_more() -> bool:
        return len(smtp.messages) == before + 1
    await eventually(one_more, timeout=10)
