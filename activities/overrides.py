"""What the operator reads beside a batch's verdicts as they are recorded, in record_batch's transaction: the
diary's what-changed clause, and the operator overrides — lapsed on their date or on a new strong signal, and,
while they hold, deciding the drafts. The scan's own verdict is recorded unchanged beside the override."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, TypeVar

import asyncpg

from activities.oncall import Notices
from core import changes as change_rules
from core import disagreement
from core import overrides as rules
from db import changes, overrides, scans, tenants
from db import settings as tenant_settings
from schemas.verdict import Verdict

ACTOR = "scan"
R = TypeVar("R")


async def lapse(conn: asyncpg.Connection, tenant_id: str, r: Any, why: str, run_date: dt.date, out: Notices) -> None:
    """End an override, write it to the diary and the audit log, and queue the note to the operator who set it."""
    if await overrides.end(conn, r["id"], ACTOR, why, notified=True) is None:
        return
    detail = {
        "override_id": r["id"],
        "verdict": r["verdict"],
        "reason": r["reason"],
        "why": why,
        "run_date": run_date.isoformat(),
        "set_by": r["set_by"],
        "notified": "oncall_webhook",
    }
    text = rules.paragraph("lapsed", r["verdict"], r["reason"], r["expires_on"], r["set_by"], why)
    await overrides.note(conn, tenant_id, r["customer_id"], "override.lapsed", ACTOR, text, detail)
    await tenants.audit(conn, tenant_id, ACTOR, "override.lapsed", r["customer_id"], detail)
    out.texts.append(f"[{tenant_id}] for {r['set_by']}: your override on {r['customer_id']} lapsed. {text}")


async def before_record(
    conn: asyncpg.Connection, tenant_id: str, run_date: dt.date, verdicts: list[Verdict]
) -> tuple[list[Verdict], Notices]:
    """The verdicts as they are to be recorded, and the lapse notes to send once the transaction commits."""
    out = Notices()
    for r in await overrides.due_to_lapse(conn, run_date):  # the tenant's, scanned today or not
        await lapse(conn, tenant_id, r, "expired", run_date, out)
    ids = [v.customer_id for v in verdicts]
    bundles = await scans.load_bundles(conn, tenant_id, run_date, ids)
    previous = await changes.previous_runs(conn, run_date, ids)
    holding = await overrides.open_for(conn, ids)
    recorded: list[Verdict] = []
    for v in verdicts:
        items = bundles[v.customer_id].items
        run = change_rules.Run(run_date, v.classification, v.severity, items, v.breakdown)
        before = previous.get(v.customer_id)
        clause = f" {change_rules.changes(run, before).summary}" if before else ""  # a first run: nothing changed
        update: dict[str, Any] = {"rendered_diary": f"{v.rendered_diary or v.diary}{clause}"}
        o = holding.get(v.customer_id)
        if o is not None and (why := rules.lapse_reason(o["expires_on"], o["known_signals"], items, run_date)):
            await lapse(conn, tenant_id, o, why, run_date, out)
            o = None
        if o is not None:
            kind = "upsell" if v.classification == "expansion" else "save"
            note = rules.paragraph("holds", o["verdict"], o["reason"], o["expires_on"], o["set_by"])
            if v.email is not None and not rules.allows_draft(o["verdict"], kind):
                update["email"], update["rendered_email"] = None, None
                note += " The model's draft was withheld."
            update["notes"] = [*v.notes, note]
            update["rendered_diary"] += f" {note}"
        recorded.append(v.model_copy(update=update))
    if out.texts:
        out.webhook = await tenant_settings.oncall_webhook(conn)
    return recorded, out


async def week_disagreements(conn: asyncpg.Connection, since: dt.date, until: dt.date) -> list[dict[str, object]]:
    """The weekly digest's list: overrides that held in the week against the scan's verdict, and skipped drafts
    whose reason says the verdict was wrong."""
    held, skipped = await overrides.disagreement_candidates(conn, since, until)
    found = [
        disagreement.Disagreement(
            r["customer_id"],
            r["name"],
            r["arr_cents"] / 100,
            "override",
            r["set_by"],
            rules.classification(r["verdict"]),
            r["classification"],
            r["reason"],
            r["run_date"].isoformat(),
        )
        for r in held
        if disagreement.override_disagrees(r["verdict"], r["classification"])
    ]
    found += [
        disagreement.Disagreement(
            r["customer_id"],
            r["name"],
            r["arr_cents"] / 100,
            "skip",
            r["decided_by"] or "?",
            r["kind"],
            r["classification"],
            r["skip_reason"] or "",
            r["run_date"].isoformat(),
        )
        for r in skipped
        if disagreement.skip_disagrees(r["skip_reason"], r["kind"])
    ]
    return disagreement.listed(found)


async def as_overridden(conn: asyncpg.Connection, day: dt.date, readings: list[R]) -> list[R]:
    """Readings (anything with customer_id and classification) as reports use them: while an override holds, its
    verdict decides."""
    holding = await overrides.holding_on(conn, day, [r.customer_id for r in readings])  # type: ignore[attr-defined]
    return [
        dataclasses.replace(r, classification=holding[r.customer_id])  # type: ignore[attr-defined,type-var]
        if r.customer_id in holding  # type: ignore[attr-defined]
        else r
        for r in readings
    ]


async def briefing_movers(conn: asyncpg.Connection, day: dt.date, names: dict[str, str]) -> list[dict[str, object]]:
    """The daily briefing's top movers: today's scanned accounts that moved most since their previous run."""
    ids = list(names)
    today, previous = await changes.runs_on(conn, day, ids), await changes.previous_runs(conn, day, ids)
    return change_rules.top_movers(
        {cid: (names[cid], change_rules.changes(run, previous.get(cid))) for cid, run in today.items()}
    )
