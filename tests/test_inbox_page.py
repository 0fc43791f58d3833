"""The inbox page in headless Chromium (Debian's, driven by Playwright; no browser is ever downloaded): an operator
pastes a token, opens a draft with its evidence and this run's diary beside the previous one, sees an edit with an
invented number refused with the reason, skips one draft and sends another — one email arrives. Then, from the
keyboard: Send with unsaved changes sends what is on screen (or is refused, naming the problem, sending nothing),
a send shows sending → sent with Undo during the window and closes, Undo puts a draft back, and a bad token clears
the queue. A screenshot is kept in tests/artifacts/ (gitignored) for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest
from temporalio.client import Client

from core.factors import DEFAULT_WEIGHTS, breakdown
from db.pool import Database
from tests import factories
from tests.browser import inbox, needs_chromium
from tests.conftest import create_tenant, eventually
from workers.stack import SmtpSink

ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [pytest.mark.usefixtures("workers"), needs_chromium]


async def test_an_operator_works_the_queue_from_the_inbox_page(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str, smtp: SmtpSink
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:  # this walk-through does not wait out an undo window (the next test does)
        await conn.execute("update tenant_settings set undo_window_seconds = 0")
    big = await factories.waiting_draft(
        db, client, tid, classification="likely_churn", severity="HIGH", route="TIER3", arr_cents=90_000_00
    )
    small = await factories.waiting_draft(db, client, tid, arr_cents=12_000_00)
    token = await factories.token(db, tid, "operator", "browser")
    ARTIFACTS.mkdir(exist_ok=True)
    # As a Slack review message's "Open in inbox" links it: the page opens on that draft once loaded.
    async with inbox(api_url, token, f"#draft={quote(small.id, safe='')}") as page:
        await page.locator(".item").nth(1).wait_for()
        await page.wait_for_function(f"document.querySelector('#detail').textContent.includes('{small.customer_id}')")
        assert await page.locator(".item").count() == 2
        assert (await page.locator("#count").inner_text()).strip() == "2 of 2 waiting"
        first = page.locator(".item").first  # HIGH severity, largest account first
        assert (await first.locator("b").inner_text()).strip() == big.customer_name

        await first.click()
        await page.wait_for_function(f"document.querySelector('#detail').textContent.includes('{big.customer_id}')")
        detail = (await page.locator("#detail").inner_text()).lower()  # headings are styled upper-case
        assert big.customer_name.lower() in detail and "likely_churn" in detail
        assert await page.locator("#detail .entry code").count() >= 2  # evidence with its source ids
        assert factories.RUN.isoformat() in await page.locator("#diary-new").inner_text()
        assert factories.PREVIOUS_RUN.isoformat() in await page.locator("#diary-previous").inner_text()
        assert "payment_history" in detail  # the factor math
        await page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)

        await page.fill("#body", big.body + "\nWe also counted 9876 failed logins.")
        await page.click("#edit")
        await page.locator("#status li").first.wait_for()
        assert "9876" in await page.locator("#status").inner_text()

        before = len(smtp.messages)
        await page.fill("#body", big.body)
        await page.click("#send")
        await page.wait_for_function(
            "document.querySelector('#status') === null || /sent/.test(document.querySelector('#status').textContent)"
        )
        await page.wait_for_function("document.querySelectorAll('.item').length === 1")

        page.on("dialog", lambda dialog: dialog.accept("customer already called"))
        await page.locator(".item").first.click()
        await page.wait_for_function(f"document.querySelector('#detail').textContent.includes('{small.customer_id}')")
        await page.click("#skip")
        await page.wait_for_function("document.querySelectorAll('.item').length === 0")

        await page.reload()  # the token stays for the tab (sessionStorage) and the empty queue loads by itself
        await page.wait_for_function("document.querySelector('#count') !== null")
        assert (await page.locator("#count").inner_text()).strip() == "0 of 0 waiting"

    async def one_email() -> bool:
        return len(smtp.messages) == before + 1

    await eventually(one_email, timeout=10)
    assert smtp.messages[-1]["X-Renewals-Draft"] == big.id
    async with db.tenant(tid) as conn:
        states = {r["id"]: r["status"] for r in await conn.fetch("select id, status from drafts")}
    assert states == {big.id: "sent", small.id: "skipped"}


async def test_send_what_you_see_undo_and_close_from_the_keyboard(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str, smtp: SmtpSink
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set undo_window_seconds = 4")
    first = await factories.waiting_draft(db, client, tid, severity="HIGH", arr_cents=70_000_00)
    second = await factories.waiting_draft(db, client, tid, arr_cents=10_000_00)
    token = await factories.token(db, tid, "operator", "browser")
    async with inbox(api_url, token) as page:
        await page.locator(".item").nth(1).wait_for()
        assert "Paste your operator token" not in await page.locator("#detail").inner_text()

        # Insertable references come from another part of the product (the draft's `references`); here they are
        # added to the first draft's JSON on its way to the page, to show the select and Insert work with them.
        async def with_references(route: Any) -> None:
            response = await route.fetch()
            draft = await response.json()
            draft["references"] = [{"token": "[[ref:1]]", "label": "Invoice", "rendered": "paid 21 days late"}]
            await route.fulfill(response=response, json=draft)

        await page.route(f"**/v1/drafts/{quote(first.id)}", with_references)
        await page.locator("body").press("j")  # the first draft of the queue (HIGH, largest)
        await page.wait_for_function(f"document.querySelector('#detail').textContent.includes('{first.customer_id}')")
        assert "paid 21 days late" in await page.locator("#ref").inner_text()
        await page.click("#insert")
        assert "[[ref:1]]" in await page.locator("#body").input_value()
        await page.unroute(f"**/v1/drafts/{quote(first.id)}")
        await page.locator("body").press("e")
        assert await page.evaluate("document.activeElement.id") == "body"
        await page.fill("#body", first.body + "\nWe also counted 9876 failed logins.")
        await page.locator("#body").press("Escape")
        await page.locator("body").press("s")  # unsaved and wrong: refused, naming the problem, nothing sent
        await page.locator("#status li").first.wait_for()
        assert "9876" in await page.locator("#status li").first.inner_text()
        assert (await page.locator("#status").inner_text()).count("9876") == 1  # the error is shown once

        await page.fill("#body", first.template_body.replace("Hello {{customer_name}} team,", "Hi there,"))
        await page.click("#send")  # unsaved and right: saved and sent as one decision
        await page.locator("#undo").wait_for(state="visible")
        assert "undo within" in await page.locator("#status").inner_text()
        await page.locator("#closed").wait_for(timeout=30_000)  # sending → sent, and the draft closes
        assert (await page.locator("#closed").inner_text()).strip() == "Sent."
        await page.wait_for_function("document.querySelectorAll('.item').length === 1")

        await page.locator("body").press("j")
        await page.wait_for_function(f"document.querySelector('#detail').textContent.includes('{second.customer_id}')")
        await page.locator("body").press("s")
        await page.locator("#undo").wait_for(state="visible")
        await page.click("#undo")
        await page.locator("#closed").wait_for()
        assert "Undone" in await page.locator("#closed").inner_text()
        await page.wait_for_function("document.querySelectorAll('.item').length === 1")  # back in the queue

        await page.fill("#token", "rm_not_a_token")
        await page.click("#load")
        await page.locator("#error").wait_for()
        assert await page.locator(".item").count() == 0  # a bad token clears the queue
        assert (await page.locator("body").inner_text()).count("Could not load the inbox") == 1

    async def one_email() -> bool:
        return len([m for m in smtp.messages if m["X-Renewals-Draft"] == first.id]) == 1

    await eventually(one_email, timeout=10)
    assert "Hi there," in factories.plain_text([m for m in smtp.messages if m["X-Renewals-Draft"] == first.id][0])
    async with db.tenant(tid) as conn:
        states = {r["id"]: r["status"] for r in await conn.fetch("select id, status from drafts")}
    assert states == {first.id: "sent", second.id: "pending"}
    assert not [m for m in smtp.messages if m["X-Renewals-Draft"] == second.id]


async def test_the_draft_shows_what_changed_and_an_override_is_set_and_cleared_from_the_page(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str
) -> None:
    """Issue 18 on the page: this run against the previous one, and an override set (a blank reason refused) and
    cleared beside the scan's own verdict; both written to the audit log."""
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    d = await factories.waiting_draft(db, client, tid, classification="likely_churn", severity="HIGH")
    async with db.tenant(tid) as conn:  # the previous run had no evidence, so its math was all zeros
        await conn.execute(
            "update classifications set factors = $1 where run_date = $2",
            breakdown([], DEFAULT_WEIGHTS).model_dump(mode="json") | {"notes": []},
            factories.PREVIOUS_RUN,
        )
    token = await factories.token(db, tid, "operator", "browser")
    async with inbox(api_url, token, height=1200) as page:
        await page.locator(".item").first.click()
        await page.locator("#changes-since").wait_for()
        since = await page.locator("#changes-since").inner_text()
        assert f"Since {factories.PREVIOUS_RUN.isoformat()} (was standard LOW)" in since
        assert await page.locator(".change-added code").all_inner_texts() == sorted(d.evidence_ids)
        moved = await page.locator("#issue18 table").inner_text()  # the factors that moved, from zero
        assert "payment_history" in moved and "usage_trend" in moved
        assert "No override holds" in await page.locator("#override-now").inner_text()

        await page.select_option("#ov-verdict", "at_risk")
        await page.click("#ov-set")  # no reason: refused, nothing set
        await page.wait_for_function("document.querySelector('#ov-status').textContent.includes('Not saved')")
        await page.fill("#ov-reason", "renewal already verbally agreed")
        await page.click("#ov-set")
        await page.wait_for_function("document.querySelector('#override-now').textContent.includes('by browser')")
        now = await page.locator("#override-now").inner_text()
        assert "at_risk" in now and "renewal already verbally agreed" in now
        side = await page.locator("#override-side").inner_text()
        assert "likely_churn" in side and "disagrees" in side  # both verdicts, side by side
        await page.screenshot(path=str(ARTIFACTS / "inbox-override.png"), full_page=True)
        await page.click("#ov-clear")
        await page.wait_for_function("document.querySelector('#override-now').textContent.includes('No override')")
    async with db.tenant(tid) as conn:
        logged = await conn.fetch("select actor, action from audit_log where action like 'override.%' order by id")
        lines = await conn.fetch("select kind from diary_notes where customer_id = $1 order by id", d.customer_id)
    assert [(r["actor"], r["action"]) for r in logged] == [("browser", "override.set"), ("browser", "override.cleared")]
    assert [r["kind"] for r in lines] == ["override.set", "override.cleared"]
