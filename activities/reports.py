"""The daily health briefing and the weekly digest: compose from Postgres, store, post to Slack once.

Gathering reuses the scan's Stripe and usage activities (a briefing chunk is a ChunkRef with scope "briefing");
what is here reads the stored evidence and verdicts and talks to Slack.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import overrides
from activities.judge import JudgeActivities, capped, charge
from activities.scan import require_active
from connectors.slack import SlackSource
from core import changes, digest, disagreement, health, ownership
from core.secrets import decrypt
from db import customers, reports, scans, tenants
from db import overrides as override_rows
from db import settings as tenant_settings
from db.pool import Database
from llm import registry
from llm.prompt import StructuredModel
from schemas.evidence import EvidenceBundle, EvidenceItem
from schemas.verdict import SOURCE_VALIDATION_FAILED
from schemas.workflow_io import BriefingCounts, ChunkRef, ReportRef, ScanPlan

POST_WITHIN = dt.timedelta(seconds=90)  # under the post's 2-minute timeout and reports.POST_LEASE
MODEL_BATCH = 20  # accounts per model call: short evidence lists, so more than a verdict batch


def _reading(r: asyncpg.Record) -> digest.Reading:
    return digest.Reading(
        customer_id=r["customer_id"],
        name=r["name"],
        arr_usd=r["arr_cents"] / 100,
        classification=r["classification"],
        severity=r["severity"],
        run_date=r["run_date"],
        cited=list(r["cited_source_ids"]),
        diary=r["paragraph"],
    )


async def _week(
    conn: asyncpg.Connection, since: dt.date, until: dt.date
) -> tuple[list[digest.Reading], list[digest.Reading]]:
    """Each customer's latest verdict of the week, or, where that one was demoted for citing outside its evidence,
    the customer as held (at standard for an operator: not a reading to sum or call a move, whatever came before
    it that week)."""
    rows = await reports.week_verdicts(conn, since, until, SOURCE_VALIDATION_FAILED)
    current: dict[str, digest.Reading] = {}
    held: dict[str, digest.Reading] = {}
    for n, r in enumerate(rows):  # each customer's rows, newest first
        cid = r["customer_id"]
        if n == 0 or rows[n - 1]["customer_id"] != cid:  # the newest decides: held, or the reading
            (held if r["held"] else current)[cid] = _reading(r)
    return list(current.values()), list(held.values())


async def with_diary(
    conn: asyncpg.Connection, day: dt.date, bundles: dict[str, EvidenceBundle]
) -> dict[str, list[EvidenceItem]]:
    """Each account's evidence for the briefing: the day's billing and usage, and the renewal scan's latest
    verdict where there is one (from its diary). Without a scan, the briefing reads the evidence alone."""
    items = {cid: list(b.items) for cid, b in bundles.items()}
    held = await override_rows.holding_on(conn, day, list(bundles))  # while an override holds, it decides
    for r in await reports.latest_verdicts(conn, day, list(bundles), health.DIARY_DAYS):
        verdict = held.get(r["customer_id"], r["classification"])
        item = health.diary_item(r["diary_id"], r["run_date"], verdict, r["severity"], r["pushed_by"])
        if item is not None:
            items[r["customer_id"]].append(item)
    return items


class ReportActivities:
    def __init__(self, db: Database, secret_key: str, *, chunk_size: int = 500) -> None:
        self.db, self.secret_key, self.chunk_size = db, secret_key, chunk_size
        self.judge = JudgeActivities(db, secret_key)

    @activity.defn
    async def plan_briefing(self, ref: ReportRef) -> ScanPlan:
        """Freeze the day's paying customers; `sources` is ["model"] when the tenant names a HEALTH model."""
        async with self.db.tenant(ref.tenant_id) as conn:
            plan = await reports.freeze_paying(conn, ref.tenant_id, ref.day, self.chunk_size)
        spec, _ = await self.judge.model_for(ref.tenant_id, "HEALTH")
        return plan.model_copy(update={"sources": [] if spec == registry.OFFLINE else ["model"]})

    @activity.defn
    async def read_health(self, ref: ChunkRef) -> int:
        """The tenant's HEALTH model reads a chunk of accounts, MODEL_BATCH at a time, under the daily cost cap.
        A reading that cites outside the account's evidence, or states a number its citation lacks, is set
        aside (the rules score the account, and the note says why). Returns how many were set aside."""
        spec, model = await self.judge.model_for(ref.tenant_id, "HEALTH")
        async with self.db.tenant(ref.tenant_id) as conn:
            profiles = await scans.chunk_profiles(conn, ref.tenant_id, ref.run_date, ref.chunk_no, "briefing")
            ids = [p.customer_id for p in profiles]
            done = await reports.read_by_model(conn, ref.run_date, ids)
            evidence = await with_diary(
                conn, ref.run_date, await scans.load_bundles(conn, ref.tenant_id, ref.run_date, ids)
            )
        over, _, _ = await capped(self.db, ref.tenant_id, ids)
        todo = [p for p in profiles if p.customer_id not in done and p.customer_id not in over]
        if spec == registry.OFFLINE or not isinstance(model, StructuredModel):
            return 0
        set_aside = 0
        for i in range(0, len(todo), MODEL_BATCH):
            part = todo[i : i + MODEL_BATCH]
            accounts = [(p.customer_id, p.name, p.arr_cents / 100, evidence[p.customer_id]) for p in part]
            system, user = health.health_prompt(ref.run_date.isoformat(), accounts)
            answer = await model.ask(system, user, health.HealthAnswer)
            await charge(
                self.db,
                ref.tenant_id,
                ref.run_date,
                ref.chunk_no,
                "health",
                "HEALTH",
                spec,
                [p.customer_id for p in part],
                answer.input_tokens,
                answer.output_tokens,
            )
            rows = {r.customer_id: r for r in answer.value.rows}
            kept: list[tuple[health.Health, list[str]]] = []
            demoted: list[tuple[health.Health, list[str]]] = []
            notes: dict[str, str] = {}
            for cid, name, arr, items in accounts:
                rules = health.assess(cid, name, arr, items)
                row = rows.get(cid)
                reading, why = (
                    (rules, "the model returned no reading for this account")
                    if row is None
                    else health.check_reading(row, items, rules)
                )
                (demoted if why else kept).append((reading, [x.source_id for x in items]))
                if why:
                    notes[cid] = why
            async with self.db.tenant(ref.tenant_id) as conn:
                await reports.write_snapshots(conn, ref.tenant_id, ref.run_date, kept, reader=spec)
                await reports.write_snapshots(conn, ref.tenant_id, ref.run_date, demoted, notes=notes)
            set_aside += len(demoted)
            activity.heartbeat(i)
        return set_aside

    @activity.defn
    async def compose_briefing(self, ref: ReportRef) -> BriefingCounts:
        """Tier every paying account from today's evidence, rank them, store the snapshots and the message."""
        async with self.db.tenant(ref.tenant_id) as conn:
            ids = await reports.briefing_ids(conn, ref.tenant_id, ref.day)
            bundles = await scans.load_bundles(conn, ref.tenant_id, ref.day, ids)
            evidence = await with_diary(conn, ref.day, bundles)
            names = await customers.names_and_arr(conn, ids)
            read = await reports.model_readings(conn, ref.day, ids)  # the tenant's model, where it answered
            assessed = [
                (
                    health.assess(cid, names[cid][0], names[cid][1] / 100, evidence[cid]),
                    [i.source_id for i in evidence[cid]],
                )
                for cid in ids
                if cid not in read
            ]
            await reports.write_snapshots(conn, ref.tenant_id, ref.day, assessed)
            by_model = [
                health.Health(
                    cid, names[cid][0], names[cid][1] / 100, r["tier"], r["urgency"], r["recommendation"], r["cites"]
                )
                for cid, r in read.items()
            ]
            summary = health.summary([h for h, _ in assessed] + by_model)
            summary["read_by_model"] = len(by_model)
            summary["missing_sources"] = sorted({s for b in bundles.values() for s in b.missing})
            summary["movers"] = await overrides.briefing_movers(conn, ref.day, {c: names[c][0] for c in ids})
            channel = await tenant_settings.slack_channel(conn)
            day = ref.day.isoformat()
            await reports.save(
                conn,
                ref.tenant_id,
                "briefing",
                ref.day,
                summary,
                health.briefing_text(ref.tenant_id, day, summary) + changes.movers_text(summary["movers"]),
                health.briefing_blocks(ref.tenant_id, day, summary)
                + changes.movers_blocks(summary["movers"])
                + ownership.claim_blocks(ref.day, summary),
                channel,
            )
        return BriefingCounts(**summary["counts"], accounts=len(ids))

    @activity.defn
    async def compose_digest(self, ref: ReportRef) -> int:
        """The week before `ref.day` (a Monday) against the week before that; returns the accounts read."""
        start = ref.day - dt.timedelta(days=7)
        await require_active(self.db, ref.tenant_id)
        async with self.db.tenant(ref.tenant_id) as conn:
            current, held = await _week(conn, start, ref.day)
            before, _ = await _week(conn, start - dt.timedelta(days=7), start)
            # Issue 18: an override holding at the week's end decides the account's reading; disagreements listed.
            last = ref.day - dt.timedelta(days=1)
            current = await overrides.as_overridden(conn, last, current)
            before = await overrides.as_overridden(conn, start - dt.timedelta(days=1), before)
            summary = digest.digest(ref.day, current, {r.customer_id: r for r in before}, held)
            summary["disagreements"] = await overrides.week_disagreements(conn, start, ref.day)
            channel = await tenant_settings.slack_channel(conn)
            await reports.save(
                conn,
                ref.tenant_id,
                "digest",
                ref.day,
                summary,
                digest.render_text(summary) + disagreement.render_text(summary),
                digest.render_blocks(summary) + disagreement.render_blocks(summary),
                channel,
            )
        return len(current)

    @activity.defn
    async def post_report(self, ref: ReportRef) -> str | None:
        """Post the stored report to the tenant's Slack channel exactly once: a recorded ts means done; the post
        is claimed first, so a second run of the day waits for the first; a post whose ts was lost (a crash
        right after Slack accepted it) is found by its metadata and not repeated. Returns the ts, or None when
        the tenant has no Slack connected."""
        async with self.db.tenant(ref.tenant_id) as conn:
            row = await reports.get(conn, ref.kind, ref.day)
            connector = await tenants.get_connector(conn, ref.tenant_id, "slack")
        if row is None:
            raise ApplicationError(f"no {ref.kind} stored for {ref.day}", type="ReportMissing", non_retryable=True)
        if row["slack_ts"]:
            return str(row["slack_ts"])
        if connector is None or connector["secret_ciphertext"] is None:
            async with self.db.tenant(ref.tenant_id) as conn:
                await reports.posted(conn, ref.kind, ref.day, None, "not posted: Slack is not connected")
            return None
        async with self.db.tenant(ref.tenant_id) as conn:
            claim = await reports.claim_post(conn, ref.kind, ref.day)
        if claim is None:  # another run of the same day is posting it (the Schedule's and one started by hand)
            raise ApplicationError(
                f"another run is posting the {ref.kind} of {ref.day}; this one will find its ts",
                type="PostInProgress",
                next_retry_delay=dt.timedelta(seconds=30),
            )
        source = SlackSource(
            decrypt(self.secret_key, connector["secret_ciphertext"]), connector["config"].get("api_base")
        )
        marker = f"{ref.tenant_id}/{ref.kind}/{ref.day.isoformat()}"
        try:
            try:
                async with asyncio.timeout(POST_WITHIN.total_seconds()):  # never past the claim's lease
                    channel = await source.channel_id(row["channel"] or "#fde")
                    ts = await source.find_marked(channel, marker, row["created_at"]) or await source.post(
                        channel, row["text"], row["blocks"], marker
                    )
            except TimeoutError as e:
                raise ApplicationError(f"Slack did not answer within {POST_WITHIN}", type="SlackTimeout") from e
        except ApplicationError as e:
            async with self.db.tenant(ref.tenant_id) as conn:
                await reports.posted(conn, ref.kind, ref.day, None, e.message, claim)
            raise
        async with self.db.tenant(ref.tenant_id) as conn:
            await reports.posted(conn, ref.kind, ref.day, ts, None)
            await tenants.audit(
                conn,
                ref.tenant_id,
                "reports",
                f"{ref.kind}.posted",
                ref.day.isoformat(),
                {"channel": channel, "ts": ts},
            )
        return ts
