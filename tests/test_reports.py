"""The health briefing and the weekly digest on real parts: workflows on the dev server, Stripe, usage from a
real product database, Slack through slack-sdk against the sandbox, email through the SMTP sink.

What an operator checks: the counts add up to every paying customer, the message lands in the channel exactly
once whatever is retried, a missing channel says what to do, and the digest's ARR figures match the verdicts."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from api.reports import start_report
from core.secrets import encrypt
from db import tenants
from db.pool import Database
from sandbox.generate import BRIEFING_CHANNEL
from sandbox.server import SandboxHandle
from schemas import ids
from schemas.workflow_io import ReportResult
from tests.conftest import AS_OF, create_tenant, eventually, manifest_key, record_history
from workers.stack import SmtpSink

pytestmark = pytest.mark.usefixtures("workers")
SNAPSHOT = Path(__file__).parent / "snapshots" / "briefing_sample_workspace.txt"
MONDAY = AS_OF + dt.timedelta(days=(7 - AS_OF.weekday()) % 7 or 7)


async def report(client: Client, tenant: str, kind: str, day: dt.date = AS_OF) -> ReportResult:
    wid = await start_report(client, tenant, kind, day)
    return await client.get_workflow_handle(wid, result_type=ReportResult).result()


def posts(sandbox: SandboxHandle, since: int) -> list[dict]:  # type: ignore[type-arg]
    return [p for p in sandbox.posted_messages()[since:] if p["channel"] == BRIEFING_CHANNEL["id"]]


@pytest.fixture(scope="module")
async def product_db(product_pg: str, workspace: Path) -> str:
    from sandbox.product_db import load_usage

    return await load_usage(product_pg, workspace, "product_reports")


async def reporting_tenant(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    tenant_id: str | None = None,
    slack_channel: str | None = None,
) -> str:
    from sandbox.product_db import QUERY

    tid = await create_tenant(
        owner,
        db,
        secret_key,
        stripe_key=manifest_key(workspace, "stripe"),
        stripe_base=sandbox.stripe_api_base,
        tenant_id=tenant_id,
    )
    async with db.tenant(tid) as conn:
        await tenants.put_connector(conn, tid, "usage", encrypt(secret_key, product_db), {"query": QUERY})
        await tenants.put_connector(
            conn, tid, "slack", encrypt(secret_key, sandbox.keys["slack"]), {"api_base": sandbox.slack_base_url}
        )
        if slack_channel:
            await conn.execute("update tenant_settings set slack_channel = $1", slack_channel)
    return tid


async def test_the_briefing_covers_every_paying_customer_and_posts_once(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    client: Client,
    api_url: str,
) -> None:
    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db)
    before = len(sandbox.posted_messages())
    sandbox.add_fault("slack", "/chat.postMessage", status=429, times=1, retry_after=1)  # waited out
    result = await report(client, tid, "briefing")
    assert result.counts is not None and result.slack_ts
    await record_history(client, ids.report_by_hand(tid, "briefing", AS_OF), "health_briefing_completed")
    # The posted briefing started the wait for claims on its cold accounts: a workflow of its own, left running.
    waiting = await client.get_workflow_handle(ids.briefing_escalation(tid, AS_OF)).describe()
    assert waiting.status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED)
    await record_history(client, ids.report_by_hand(tid, "briefing", AS_OF), "health_briefing_escalation_started")
    async with db.tenant(tid) as conn:
        paying = await conn.fetchval(
            "select count(*) from customers where status in ('active', 'past_due', 'trialing') and arr_cents > 0"
        )
        tiers = dict(await conn.fetch("select tier, count(*) from health_snapshots group by tier"))
    assert result.counts.accounts == paying == sum(tiers.values()) > 0
    assert (result.counts.hot, result.counts.warm, result.counts.cold) == (tiers["hot"], tiers["warm"], tiers["cold"])
    [post] = posts(sandbox, before)
    assert post["ts"] == result.slack_ts
    assert f"{tiers['hot']} hot" in str(post["blocks"]) and f"{tiers['cold']} cold" in str(post["blocks"])

    # A second run of the same day (a retry, a click on "run now") posts nothing more.
    again = await report(client, tid, "briefing")
    assert again.slack_ts == result.slack_ts and len(posts(sandbox, before)) == 1
    # Nor does one whose earlier post succeeded but whose ts was never recorded (a crash in between):
    # it finds its own message in the channel by the metadata it carries.
    async with db.tenant(tid) as conn:  # ... and whose claim on the post has run out
        await conn.execute(
            "update reports set slack_ts = null, post_claimed_at = now() - interval '4 minutes' where kind = 'briefing'"
        )
    third = await report(client, tid, "briefing")
    assert third.slack_ts == result.slack_ts and len(posts(sandbox, before)) == 1

    token = await _token(db, tid)
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}) as h:
        served = (await h.get(f"/v1/reports/briefing/{AS_OF}")).json()
        cold = (await h.get(f"/v1/reports/briefing/{AS_OF}", params={"tier": "cold"})).json()
        listed = (await h.get("/v1/reports")).json()
    assert served["slack_ts"] == result.slack_ts and served["summary"]["counts"] == tiers
    assert len(served["accounts"]) == paying and {a["tier"] for a in cold["accounts"]} == {"cold"}
    urgent = served["summary"]["top"]
    assert [a["urgency"] for a in urgent] == sorted(a["urgency"] for a in urgent)
    for a in served["accounts"]:  # a recommendation cites a signal of the account's own evidence, or nothing
        assert a["cites"] is None or a["cites"] in a["source_ids"]
    assert [(r["kind"], r["day"]) for r in listed] == [("briefing", AS_OF.isoformat())]


async def test_two_runs_of_one_day_post_once_even_at_the_same_moment_and_in_a_busy_channel(
    owner: asyncpg.Connection, db: Database, secret_key: str, sandbox: SandboxHandle, workspace: Path, product_db: str
) -> None:
    """The Schedule's run and one started by hand (two workflow ids) reach the post together: one posts, the
    other waits for its ts. After a crash that lost the ts, the message is found again even when 250 messages
    have been posted to the channel since (a second page of history). The activity is called directly here, on
    the real database and the real Slack SDK against the sandbox, to make the two attempts coincide."""
    from temporalio.exceptions import ApplicationError

    from activities.reports import ReportActivities
    from db import reports as stored
    from schemas.workflow_io import ReportRef

    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db)
    async with db.tenant(tid) as conn:
        await stored.save(conn, tid, "briefing", AS_OF, {"counts": {}}, "Customer health", [], "#fde")
    ref, acts = ReportRef(tenant_id=tid, kind="briefing", day=AS_OF), ReportActivities(db, secret_key)
    before = len(posts(sandbox, 0))
    first, second = await asyncio.gather(acts.post_report(ref), acts.post_report(ref), return_exceptions=True)
    [ts] = [r for r in (first, second) if isinstance(r, str)]
    [waiting] = [r for r in (first, second) if isinstance(r, BaseException)]
    assert isinstance(waiting, ApplicationError) and waiting.type == "PostInProgress" and not waiting.non_retryable
    assert await acts.post_report(ref) == ts and len(posts(sandbox, 0)) == before + 1  # the retry finds the ts

    for n in range(250):  # the channel gets busy
        sandbox.state.posted.append(
            {
                "channel": BRIEFING_CHANNEL["id"],
                "ts": f"{float(ts) + n + 1:.6f}",
                "message": {"type": "message", "text": f"chatter {n}", "ts": f"{float(ts) + n + 1:.6f}"},
            }
        )
    async with db.tenant(tid) as conn:  # a crash lost the ts, and its claim has run out
        await conn.execute("update reports set slack_ts = null, post_claimed_at = now() - interval '4 minutes'")
    assert await acts.post_report(ref) == ts
    assert sum(1 for p in posts(sandbox, 0)[before:] if "metadata" in p["message"]) == 1

    # An attempt whose lease ran out and failed late releases only its own claim, never its successor's.
    later = AS_OF + dt.timedelta(days=1)
    async with db.tenant(tid) as conn:
        await stored.save(conn, tid, "briefing", later, {"counts": {}}, "Customer health", [], "#fde")
        stale = await stored.claim_post(conn, "briefing", later)
        await conn.execute(
            "update reports set post_claimed_at = post_claimed_at - interval '4 minutes' where day = $1", later
        )
        live = await stored.claim_post(conn, "briefing", later)
        assert stale is not None and live is not None
        await stored.posted(conn, "briefing", later, None, "Slack did not answer", stale - dt.timedelta(minutes=4))
        assert await conn.fetchval("select post_claimed_at from reports where day = $1", later) == live
        assert await stored.claim_post(conn, "briefing", later) is None  # still held by the live attempt


async def test_a_channel_that_does_not_exist_fails_clearly_and_keeps_the_briefing(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    client: Client,
) -> None:
    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db, slack_channel="#no-such-room")
    before = len(sandbox.posted_messages())
    with pytest.raises(WorkflowFailureError) as err:
        await report(client, tid, "briefing")
    message = str(err.value.cause)
    assert "stored but not posted" in message and "#no-such-room not found" in message
    assert "set slack_channel" in message
    async with db.tenant(tid) as conn:
        row = await conn.fetchrow("select slack_ts, post_error, summary from reports where kind = 'briefing'")
    assert row["slack_ts"] is None and "not found" in row["post_error"] and row["summary"]["accounts"] > 0
    assert len(sandbox.posted_messages()) == before
    # Non-retryable: one attempt, not ten.
    history = [
        e async for e in client.get_workflow_handle(ids.report_by_hand(tid, "briefing", AS_OF)).fetch_history_events()
    ]
    assert (
        sum(
            1
            for e in history
            if e.HasField("activity_task_started_event_attributes")
            and e.activity_task_started_event_attributes.attempt > 1
        )
        == 0
    )


async def test_a_deactivated_tenant_is_not_briefed_or_digested(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    client: Client,
) -> None:
    """Its Schedules go at the next worker start (test_report_schedules.py); a run already scheduled, or started
    by hand, stops before reading its Stripe or writing to its Slack."""
    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db)
    await owner.execute("update tenants set active = false where id = $1", tid)
    before, seen = len(sandbox.posted_messages()), sandbox.request_counts("stripe")
    for kind, day in (("briefing", AS_OF), ("digest", MONDAY)):
        with pytest.raises(WorkflowFailureError) as err:
            await report(client, tid, kind, day)
        assert f"tenant {tid} is deactivated" in str(err.value.cause.cause)  # the activity's own error
    assert len(sandbox.posted_messages()) == before and sandbox.request_counts("stripe") == seen


async def test_the_weekly_digest_sums_arr_in_motion_and_is_mailed_and_posted_once(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    client: Client,
    smtp: SmtpSink,
) -> None:
    from api.scans import start_scan
    from schemas.workflow_io import TenantScanResult

    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db)
    wid = await start_scan(client, tid, AS_OF)
    await client.get_workflow_handle(wid, result_type=TenantScanResult).result()
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set digest_recipients = '{owner@tenant.example}'")
        rows = await conn.fetch("""select c.customer_id, c.classification, c.severity, cu.arr_cents
                                     from classifications c join customers cu on cu.id = c.customer_id""")
        # Last week one of this week's at-risk accounts was standard: a mover.
        mover = next(r for r in rows if r["classification"] in ("at_risk", "likely_churn"))
        await conn.execute(
            """insert into classifications (tenant_id, customer_id, run_date, classification, severity,
                                  score, factors, cited_source_ids, recommended_action, route, model)
                              values ($1, $2, $3, 'standard', 'LOW', 0, '{}', '{}', 'none', 'TIER1', 'offline')""",
            tid,
            mover["customer_id"],
            AS_OF - dt.timedelta(days=8),
        )
        # One account's verdict was a model's that cited a source outside its evidence, so it was demoted: held
        # at standard for an operator. It is listed apart, neither summed nor called a move.
        held = next(r for r in rows if r["classification"] == "expansion")
        rows = [r for r in rows if r is not held]
    await owner.execute(
        """update classifications set classification = 'standard', severity = 'LOW',
                                  abstain_reason = 'source_validation_failed'
                            where tenant_id = $1 and customer_id = $2""",
        tid,
        held["customer_id"],
    )
    # Earlier that week it was read likely churn: the held verdict is the newest, so that one is not summed either.
    await owner.execute(
        """insert into classifications (tenant_id, customer_id, run_date, classification, severity,
                               score, factors, cited_source_ids, recommended_action, route, model)
                           values ($1, $2, $3, 'likely_churn', 'HIGH', -0.8, '{}', '{}', 'call', 'TIER2', 'offline')""",
        tid,
        held["customer_id"],
        AS_OF - dt.timedelta(days=2),
    )
    at_risk = sum(r["arr_cents"] for r in rows if r["classification"] in ("at_risk", "likely_churn")) / 100
    expanding = sum(r["arr_cents"] for r in rows if r["classification"] == "expansion") / 100
    mails, slack = len(smtp.messages), len(sandbox.posted_messages())

    result = await report(client, tid, "digest", MONDAY)
    await record_history(client, ids.report_by_hand(tid, "digest", MONDAY), "weekly_digest_completed")
    assert result.accounts_read == len(rows) and result.emailed == "emailed to owner@tenant.example"
    async with db.tenant(tid) as conn:
        summary = await conn.fetchval("select summary from reports where kind = 'digest'")
    assert summary["arr_at_risk_usd"] == pytest.approx(at_risk) and at_risk > 0
    assert summary["arr_in_expansion_usd"] == pytest.approx(expanding)
    assert sum(a["arr_usd"] for a in summary["at_risk"]) == pytest.approx(at_risk)  # the figure's own chain
    assert all(a["cited"] for a in summary["at_risk"]), "every account in a figure names its sources"
    assert [m["customer_id"] for m in summary["movers"]] == [mover["customer_id"]]
    assert [a["customer_id"] for a in summary["held"]] == [held["customer_id"]]  # listed apart, moved nowhere
    assert held["customer_id"] not in {a["customer_id"] for a in summary["high"] + summary["at_risk"]}
    assert summary["movers"][0]["from"] == "standard/LOW" and summary["movers"][0]["diary"]
    [mail] = smtp.messages[mails:]
    assert (
        mail["To"] == "owner@tenant.example"
        and f"ARR at risk: ${at_risk:,.0f}" in mail.get_payload(decode=True).decode()
    )
    assert len(posts(sandbox, slack)) == 1

    again = await report(client, tid, "digest", MONDAY)
    assert again.emailed.startswith("already emailed") and len(smtp.messages) == mails + 1  # type: ignore[union-attr]
    assert len(posts(sandbox, slack)) == 1


async def test_the_digest_is_mailed_once_when_an_address_is_refused_or_the_line_drops(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    smtp: SmtpSink,
) -> None:
    """A typo in one recipient must not resend the digest to the others on every retry; a line lost after the
    message went out is reported as uncertain, never sent again; every address refused is a clear, final error.
    The activity runs directly against the real SMTP server (aiosmtpd) and the real database."""
    from temporalio.exceptions import ApplicationError

    from activities.email import DELIVERY_UNCERTAIN, EmailActivities, SmtpConfig
    from db import reports as stored
    from schemas.workflow_io import ReportRef

    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db)
    weeks = [MONDAY + dt.timedelta(days=7 * n) for n in range(4)]
    async with db.tenant(tid) as conn:
        await conn.execute(
            "update tenant_settings set digest_recipients = '{owner@tenant.example,typo@tenant.exmaple}'"
        )
        for day in weeks:
            await stored.save(conn, tid, "digest", day, {}, f"Renewal digest {day}", [], None)
    acts = EmailActivities(db, SmtpConfig(smtp.host, smtp.port, "renewals@test"))
    sent = len(smtp.messages)
    try:
        smtp.refuse = {"typo@tenant.exmaple"}
        said = await acts.email_report(ReportRef(tenant_id=tid, kind="digest", day=weeks[0]))
        assert said == "emailed to owner@tenant.example; refused by the mail server: typo@tenant.exmaple"
        assert [m["X-Envelope-To"] for m in smtp.messages[sent:]] == ["owner@tenant.example"]
        again = await acts.email_report(ReportRef(tenant_id=tid, kind="digest", day=weeks[0]))
        assert again == "already emailed to owner@tenant.example" and len(smtp.messages) == sent + 1

        smtp.hang_up_after_data = 1
        for _ in range(2):  # the retry refuses to guess too
            with pytest.raises(ApplicationError) as lost:
                await acts.email_report(ReportRef(tenant_id=tid, kind="digest", day=weeks[1]))
            assert lost.value.type == DELIVERY_UNCERTAIN and lost.value.non_retryable
        assert len(smtp.messages) == sent + 2  # it did arrive, once

        smtp.refuse = {"owner@tenant.example", "typo@tenant.exmaple"}
        with pytest.raises(ApplicationError) as refused:
            await acts.email_report(ReportRef(tenant_id=tid, kind="digest", day=weeks[2]))
        assert refused.value.non_retryable and "every recipient was refused" in refused.value.message
        async with db.tenant(tid) as conn:  # nothing went out, so the claim is released for a corrected retry
            assert await conn.fetchval("select email_status from reports where day = $1", weeks[2]) is None
        assert len(smtp.messages) == sent + 2

        smtp.refuse, smtp.reject_data = set(), 1  # a spam filter's 554 is an answer: final, not uncertain
        with pytest.raises(ApplicationError) as spam:
            await acts.email_report(ReportRef(tenant_id=tid, kind="digest", day=weeks[3]))
        assert spam.value.type == "MessageRejected" and spam.value.non_retryable
        async with db.tenant(tid) as conn:
            assert await conn.fetchval("select email_status from reports where day = $1", weeks[3]) is None
    finally:
        smtp.refuse, smtp.hang_up_after_data, smtp.reject_data = set(), 0, 0


async def test_the_briefing_reads_the_renewal_scans_diary_as_one_more_signal(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    client: Client,
) -> None:
    """The scan sees the CRM and Slack, the briefing does not: an account the scan read at risk yesterday is not
    left warm, and the briefing cites that account's own diary entry (whose citations carry the chain on). A
    verdict older than two weeks is not read. In the sample workspace every account the scan reads at risk is
    already cold on billing or usage (python -m bench.judgement), so the verdicts here are written by hand:
    half the paying accounts yesterday, half three weeks ago."""
    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db)
    await report(client, tid, "briefing", AS_OF - dt.timedelta(days=7))  # a week ago: it syncs the customers
    ids = [
        r["id"]
        for r in await owner.fetch(
            """select id from customers where tenant_id = $1 and arr_cents > 0
                                                 and status in ('active', 'past_due', 'trialing') order by id""",
            tid,
        )
    ]
    fresh, stale = ids[::2], ids[1::2]
    for day, group in ((AS_OF - dt.timedelta(days=1), fresh), (AS_OF - dt.timedelta(days=21), stale)):
        await owner.executemany(
            """
            insert into classifications (tenant_id, customer_id, run_date, classification, severity, score, factors,
                                         cited_source_ids, recommended_action, route, model)
            values ($1, $2, $3, 'at_risk', 'MEDIUM', -0.3, '{"pushed_by": "champion_status"}', '{}', 'call', 'TIER2',
                    'offline')""",
            [(tid, cid, day) for cid in group],
        )
        await owner.executemany(
            """insert into diary_entries (tenant_id, customer_id, run_date, paragraph,
                                                              cited_source_ids)
                                   values ($1, $2, $3, 'At risk: the champion left.', '{}')""",
            [(tid, cid, day) for cid in group],
        )
    entries = dict(
        await owner.fetch(
            "select customer_id, id from diary_entries where tenant_id = $1 and run_date = $2",
            tid,
            AS_OF - dt.timedelta(days=1),
        )
    )

    await report(client, tid, "briefing")
    async with db.tenant(tid) as conn:
        snaps = {r["customer_id"]: r for r in await conn.fetch("select * from health_snapshots where day = $1", AS_OF)}
    assert fresh and all(snaps[cid]["tier"] == "cold" for cid in fresh)
    by_diary = [cid for cid in fresh if (snaps[cid]["cites"] or "").startswith("diary:")]
    assert by_diary, "some accounts have nothing in billing or usage that makes them cold"
    for cid in by_diary:
        assert snaps[cid]["cites"] == f"diary:{entries[cid]}"  # that account's own entry
        assert snaps[cid]["recommendation"] == (
            f"Send a check-in email: the renewal scan of {AS_OF - dt.timedelta(days=1)}"
            " read it at risk (MEDIUM), moved by champion status"
        )
    assert not any(s.startswith("diary:") for cid in stale for s in snaps[cid]["source_ids"])
    assert {snaps[cid]["tier"] for cid in stale} >= {"warm"}, "without a recent verdict, the rules alone decide"


async def test_the_sample_workspace_briefing_reads_as_recorded(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    client: Client,
) -> None:
    """A person reads tests/snapshots/briefing_sample_workspace.txt to review the briefing; regenerate it with
    UPDATE_SNAPSHOTS=1 and look at the diff."""
    import os

    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db, tenant_id="sample-co")
    await report(client, tid, "briefing")
    async with db.tenant(tid) as conn:
        text = await conn.fetchval("select text from reports where kind = 'briefing'")
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()


async def _token(db: Database, tid: str) -> str:
    async with db.tenant(tid) as conn:
        return await tenants.create_token(conn, tid, "operator", "reports-test")


async def test_each_tenant_is_briefed_at_seven_in_its_own_time_zone_and_digested_on_mondays(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    client: Client,
) -> None:
    from zoneinfo import ZoneInfo

    from workers.schedules import apply_schedules, briefing_id, digest_id, tenant_schedules

    tokyo = ZoneInfo("Asia/Tokyo")
    tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db)
    await apply_schedules(client, tenant_schedules(tid, "Asia/Tokyo"))
    try:
        briefing = await client.get_schedule_handle(briefing_id(tid)).describe()
        digest = await client.get_schedule_handle(digest_id(tid)).describe()
        for when in briefing.info.next_action_times[:5]:
            local = when.astimezone(tokyo)
            assert (local.hour, local.minute) == (7, 0) and local.weekday() < 5, local
        for when in digest.info.next_action_times[:3]:
            assert (when.astimezone(dt.UTC).weekday(), when.astimezone(dt.UTC).hour) == (0, 12), when
        # Triggered now, the briefing is about today in Tokyo, whatever the date is in UTC.
        await client.get_schedule_handle(briefing_id(tid)).trigger()
        today_in_tokyo = dt.datetime.now(tokyo).date()

        async def briefed() -> bool:
            async with db.tenant(tid) as conn:
                return bool(
                    await conn.fetchval(
                        "select slack_ts from reports where kind = 'briefing' and day = $1", today_in_tokyo
                    )
                )

        await eventually(briefed, timeout=120, interval=1)
    finally:
        for sid in (briefing_id(tid), digest_id(tid)):
            await client.get_schedule_handle(sid).delete()


async def test_the_tenants_health_model_reads_the_accounts_and_an_invented_citation_is_set_aside(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    sandbox: SandboxHandle,
    workspace: Path,
    product_db: str,
    client: Client,
) -> None:
    # The model vendor cannot be reached from here: a local server speaking Anthropic's wire format answers the
    # official SDK (sandbox/llm_fakes.py). Its first answer cites a source no account has.
    from activities.reports import MODEL_BATCH, ReportActivities
    from sandbox.llm_fakes import INVENTED_CITATION, start_fake_llm
    from schemas.workflow_io import ChunkRef

    spec = "anthropic:claude-haiku-4-5"
    fake = start_fake_llm("anthropic", [INVENTED_CITATION])
    try:
        tid = await reporting_tenant(owner, db, secret_key, sandbox, workspace, product_db)
        async with db.tenant(tid) as conn:
            await tenants.put_connector(
                conn, tid, "anthropic", encrypt(secret_key, "sk-ant-test-key"), {"base_url": fake.base_url}
            )
            await conn.execute("update tenant_settings set models = $1", {"HEALTH": spec})
        result = await report(client, tid, "briefing")
        await record_history(client, ids.report_by_hand(tid, "briefing", AS_OF), "health_briefing_with_model_completed")
        # A retry of a chunk (after a timeout, say) asks the model about none of the accounts it already
        # answered for, kept or set aside: nothing is paid twice.
        asked = len(fake.requests)
        chunk = ChunkRef(tenant_id=tid, run_date=AS_OF, chunk_no=0, scope="briefing")
        assert await ReportActivities(db, secret_key).read_health(chunk) == 0 and len(fake.requests) == asked
    finally:
        fake.stop()
    assert result.counts is not None
    async with db.tenant(tid) as conn:
        rows = await conn.fetch("select * from health_snapshots")
        charged = await conn.fetchval("select count(*) from model_calls where stage = 'health'")
        summary = await conn.fetchval("select summary from reports where kind = 'briefing'")
    by_model = [r for r in rows if r["reader"] == spec]
    set_aside = [r for r in rows if r["reader"] == "rules"]
    assert len(rows) == result.counts.accounts and charged == len(rows)  # every account read, and paid for
    assert len(set_aside) == MODEL_BATCH and len(by_model) == len(rows) - MODEL_BATCH
    assert all("stripe:in_INVENTED0000001, which is not in this account's evidence" in r["note"] for r in set_aside)
    assert all(r["cites"] is None or r["cites"] in r["source_ids"] for r in rows)
    assert summary["read_by_model"] == len(by_model)
