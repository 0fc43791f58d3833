"""What changed since a customer's previous run (issue 18): the pure comparison, and GET /v1/customers/{id}/changes
on the real API and database across three runs with evidence added, removed and changed."""

from __future__ import annotations

import datetime as dt

import asyncpg
import httpx

from core import changes
from core.factors import DEFAULT_WEIGHTS, breakdown
from db.pool import Database
from schemas.evidence import EvidenceItem
from tests import factories
from tests.conftest import create_tenant

DAYS = [dt.date(2026, 11, 8), dt.date(2026, 11, 15), dt.date(2026, 11, 22)]


def item(source_id: str, kind: str, factor: str, signal: float, **facts: object) -> EvidenceItem:
    return EvidenceItem(source_id=source_id, kind=kind, factor=factor, signal=signal, summary=kind, facts=facts)  # type: ignore[arg-type]


LATE = "stripe:in_late1"
SEATS = "usage:seats"
QUIET = "slack:C1:q1"
FAILED = "stripe:in_failed1"
# Run 1: an invoice 3 days late, seats steady. Run 2: the same invoice now 21 days late (changed), a quiet champion
# appears (added). Run 3: the seats item is gone, a payment failure appears (added), the rest unchanged.
EVIDENCE = [
    [
        item(LATE, "invoice_paid_late", "payment_history", -0.2, days_late=3),
        item(SEATS, "seats_steady", "usage_trend", 0.1, seats_now=40),
    ],
    [
        item(LATE, "invoice_paid_late", "payment_history", -0.6, days_late=21),
        item(SEATS, "seats_steady", "usage_trend", 0.1, seats_now=40),
        item(QUIET, "champion_quiet_in_slack", "champion_status", -0.4),
    ],
    [
        item(LATE, "invoice_paid_late", "payment_history", -0.6, days_late=21),
        item(QUIET, "champion_quiet_in_slack", "champion_status", -0.4),
        item(FAILED, "payment_attempts_failed", "payment_history", -0.3, attempts=2),
    ],
]
VERDICTS = [("standard", "LOW"), ("at_risk", "MEDIUM"), ("likely_churn", "HIGH")]


def runs() -> list[changes.Run]:
    return [
        changes.Run(d, v, s, items, breakdown(items, DEFAULT_WEIGHTS))
        for d, (v, s), items in zip(DAYS, VERDICTS, EVIDENCE, strict=True)
    ]


def _by(c: object) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"added": set(), "gone": set(), "changed": set()}
    for e in c.evidence:  # type: ignore[attr-defined]
        out[e.change].add(e.source_id)
    return out


def test_three_runs_each_compared_with_the_one_before() -> None:
    third, second, first = changes.history(runs())
    assert first.previous is None and _by(first)["added"] == {LATE, SEATS}
    assert first.summary == "First run for this customer."
    assert _by(second) == {"added": {QUIET}, "gone": set(), "changed": {LATE}}
    moved = next(e for e in second.evidence if e.change == "changed")
    assert [(m.fact, m.old, m.new) for m in moved.facts] == [("days_late", 3, 21)]
    assert second.previous is not None and (second.previous.classification, second.previous.run_date) == (
        "standard",
        DAYS[0],
    )
    assert {f.factor for f in second.factors} == {"payment_history", "champion_status"}
    pay = next(f for f in second.factors if f.factor == "payment_history")
    assert pay.delta == round(pay.new - pay.old, 4) and pay.delta < 0
    assert _by(third) == {"added": {FAILED}, "gone": {SEATS}, "changed": set()}
    assert third.previous is not None and third.previous.classification == "at_risk"
    assert {f.factor for f in third.factors} == {"payment_history", "usage_trend"}
    # The diary's clause: counts, the fact that moved in the renderer's words, the largest factor move, the verdict.
    assert second.summary.startswith("Since 2026-11-08: evidence 1 added, 1 changed; days late 3 days → 21 days;")
    assert second.summary.endswith("was standard.")
    assert "verdict unchanged" in changes.changes(runs()[1], runs()[1]).summary
    assert changes.movement(third) > changes.movement(first) == 0.0


def test_an_unchanged_run_has_no_changes() -> None:
    run = runs()[1]
    same = changes.changes(changes.Run(DAYS[2], run.classification, run.severity, run.items, run.breakdown), run)
    assert same.evidence == [] and same.factors == [] and same.total_delta == 0.0


async def test_the_changes_endpoint_across_three_runs(
    owner: asyncpg.Connection, db: Database, secret_key: str, api_url: str
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    cid = await factories.customer(db, tid)
    async with db.tenant(tid) as conn:
        for run in runs():
            await conn.execute(
                "insert into evidence (tenant_id, customer_id, run_date, source, items) values ($1, $2, $3, 'x', $4)",
                tid,
                cid,
                run.run_date,
                [i.model_dump(mode="json") for i in run.items],
            )
            assert run.breakdown is not None
            await conn.execute(
                """insert into classifications (tenant_id, customer_id, run_date, classification, severity, score,
                                               factors, cited_source_ids, recommended_action, route, model)
                   values ($1, $2, $3, $4, $5, 0, $6, '{}', 'none', 'TIER1', 'offline')""",
                tid,
                cid,
                run.run_date,
                run.classification,
                run.severity,
                run.breakdown.model_dump(mode="json") | {"notes": []},
            )
    token = await factories.token(db, tid)
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}) as h:
        every = (await h.get(f"/v1/customers/{cid}/changes")).json()
        assert [c["run_date"] for c in every] == [d.isoformat() for d in reversed(DAYS)]
        assert every == [c.model_dump(mode="json") for c in changes.history(runs())]
        assert every[2]["previous"] is None
        since = (await h.get(f"/v1/customers/{cid}/changes", params={"since": DAYS[1].isoformat()})).json()
        assert since == every[:2]  # the run before `since` is read to compare with, not shown
        assert since[1]["previous"]["classification"] == "standard"
        gone = [e for e in since[0]["evidence"] if e["change"] == "gone"]
        assert [(e["source_id"], e["kind"]) for e in gone] == [(SEATS, "seats_steady")]
        assert (await h.get("/v1/customers/cus_nobody/changes")).status_code == 404
