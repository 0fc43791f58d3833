"""Where operators and the models disagree (issue 18): a skipped draft whose reason says the verdict was wrong, or an
override against the scan's verdict, is listed in the weekly digest; agreement rates per route show on /metrics;
the daily briefing lists the top movers since their previous run. Real database, real activities, real app."""

from __future__ import annotations

import datetime as dt

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities import overrides
from activities.reports import ReportActivities
from api.app import create_app
from api.overrides import today
from core.disagreement import skip_disagrees
from db.pool import Database
from schemas.workflow_io import ReportRef
from tests import factories
from tests.conftest import create_tenant


@pytest.mark.parametrize(
    ("reason", "kind", "disagrees"),
    [
        ("renewal already verbally agreed", "save", True),
        ("They are happy, the model misread the invoices", "save", True),
        ("not at risk: procurement is just slow", "save", True),
        ("customer already called", "save", False),
        ("duplicate of last week's", "save", False),
        ("no budget until next year", "upsell", True),
        ("happy, but will write myself", "upsell", False),
        ("", "save", False),
    ],
)
def test_a_skip_reason_disagrees_only_when_it_says_the_verdict_was_wrong(
    reason: str, kind: str, disagrees: bool
) -> None:
    assert skip_disagrees(reason, kind) is disagrees


async def test_disagreements_reach_the_digest_and_agreement_rates_reach_metrics(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    sent, wrong, busy = [await factories.draft(db, tid, route="TIER2") for _ in range(3)]
    held, agreed = [await factories.draft(db, tid, route="TIER1") for _ in range(2)]
    async with db.tenant(tid) as conn:
        await conn.execute(
            "update drafts set status = 'sent', decided_by = 'ann', decided_at = now() where id = $1", sent.id
        )
        for d, reason in ((wrong, "renewal already verbally agreed"), (busy, "customer already called")):
            await conn.execute(
                """update drafts set status = 'skipped', decided_by = 'ann', decided_at = now(), skip_reason = $2
                    where id = $1""",
                d.id,
                reason,
            )
    token = await factories.token(db, tid, name="ann")
    expires = (today() + dt.timedelta(days=30)).isoformat()
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}) as h:
        for d, verdict in ((held, "hold_standard"), (agreed, "at_risk")):  # the scan read both at_risk
            body = {"verdict": verdict, "reason": "spoke to the champion", "expires": expires}
            assert (await h.post(f"/v1/customers/{d.customer_id}/override", json=body)).status_code == 201

    monday = today() + dt.timedelta(days=7 - today().weekday())  # the coming Monday: the week holds today
    acts = ReportActivities(db, secret_key)
    await ActivityEnvironment().run(acts.compose_digest, ReportRef(tenant_id=tid, kind="digest", day=monday))
    async with db.tenant(tid) as conn:
        report = await conn.fetchrow("select summary, text, blocks from reports where kind = 'digest'")
    listed = {(d["customer_id"], d["source"]) for d in report["summary"]["disagreements"]}
    assert listed == {(wrong.customer_id, "skip"), (held.customer_id, "override")}
    assert (
        "Operators and the model disagreed:" in report["text"] and "renewal already verbally agreed" in report["text"]
    )
    assert "override standard; the scan read at_risk" in report["text"]
    assert any("disagreed" in str(b) for b in report["blocks"])

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(db, client)), base_url="http://t") as h:
        text = (await h.get("/metrics")).text
    assert f'renewals_operator_agreement{{route="TIER2",source="draft",tenant="{tid}"}} 0.6666666666666666' in text
    assert f'renewals_operator_agreement{{route="TIER1",source="override",tenant="{tid}"}} 0.5' in text


async def test_the_briefing_lists_the_top_movers_since_their_previous_run(
    owner: asyncpg.Connection, db: Database, secret_key: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    moved = await factories.draft(db, tid)  # standard last week, at risk now, two items new
    still = await factories.draft(db, tid, classification="standard", severity="LOW")
    async with db.tenant(tid) as conn:  # the quiet one's run is the same as its previous: no movement
        await conn.execute(
            """insert into evidence (tenant_id, customer_id, run_date, source, items)
               select tenant_id, customer_id, $2, source, items from evidence where customer_id = $1""",
            still.customer_id,
            factories.PREVIOUS_RUN,
        )
        movers = await overrides.briefing_movers(
            conn, factories.RUN, {moved.customer_id: "Moved Co", still.customer_id: "Still Co"}
        )
    assert [m["customer_id"] for m in movers] == [moved.customer_id]
    assert movers[0]["summary"] == (f"Since {factories.PREVIOUS_RUN.isoformat()}: evidence 2 added; was standard.")
