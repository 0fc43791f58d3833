"""The inbox page in Debian's headless Chromium shows which evidence of a draft's verdict is stale, and which weight
profile and version judged it (both read from the verdict's breakdown)."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from db.pool import Database
from tests import factories
from tests.browser import inbox, needs_chromium
from tests.conftest import create_tenant

pytestmark = [pytest.mark.usefixtures("workers"), needs_chromium]


async def test_the_draft_detail_flags_stale_evidence_and_names_the_profile(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    d = await factories.waiting_draft(db, client, tid)
    stale, fresh = d.evidence_ids
    async with db.tenant(tid) as conn:
        await conn.execute(
            """update classifications set factors = factors || $2
                where customer_id = $1 and run_date = $3""",
            d.customer_id,
            {"stale": [stale], "profile": "enterprise", "weights_version": 2},
            d.run_date,
        )
    token = await factories.token(db, tid, "operator", "browser")
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}) as h:
        detail = (await h.get(f"/v1/drafts/{d.id}")).json()
    assert {e["source_id"]: e.get("stale") for e in detail["evidence"]} == {stale: True, fresh: None}
    assert (detail["factors"]["profile"], detail["factors"]["weights_version"]) == ("enterprise", 2)
    async with inbox(api_url, token) as page:
        await page.locator(".item").first.click()
        await page.locator("#send").wait_for()
        entries = page.locator("#detail .entry", has=page.locator("code"))
        flagged = await page.locator("#detail .entry", has=page.locator(".stale")).all_inner_texts()
        assert await entries.count() >= 2
        assert len(flagged) == 1 and stale in flagged[0] and "past its source's limit" in flagged[0]
        assert not any(fresh in t for t in flagged)
        assert "enterprise profile, weights version 2" in await page.locator("#detail").inner_text()
