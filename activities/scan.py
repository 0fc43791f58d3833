"""Scan activities: every call to Postgres, Stripe or a model happens here, never in a workflow.

One class holds the clients, built once when the worker starts; credentials are read per tenant inside
the activity and never pass through workflow history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import asyncpg
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities import oncall
from activities.carry import likely_carried
from activities.judge import JudgeActivities, record
from activities.pacing import SharedPace
from connectors.dsn import server_identity
from connectors.errors import connector_state
from connectors.registry import OPTIONAL, open_connector, open_crm
from connectors.slack import LINK as SLACK_LINK
from connectors.slack import LOOKBACK_DAYS as SLACK_LOOKBACK_DAYS
from connectors.slack import Kept, SlackConnector, day_ts
from connectors.stripe import (
    HISTORY_DAYS,
    MalformedRecord,
    StripeSource,
    customer_row,
    invoice_signals,
    pick_subscription,
    subscription_signals,
)
from connectors.stripe_records import Subscription, read
from connectors.usage import UsageConnector, UsageFailure, UsageSource
from core import alerts as alert_rules
from core import routing
from core.renewal import RenewalRule, stored_renewal_date
from core.secrets import decrypt
from core.webhook_events import readable_ts
from core.windows import chains, coarser, even_points, quantile_points, windows
from db import carry as carry_db
from db import customers, drafts, runs, scans, sources, tenants, usage
from db import slack as slack_review
from db.pool import Database
from db.usage import PushedUsage
from schemas import search
from schemas.evidence import CustomerProfile, EvidenceItem
from schemas.workflow_io import (
    ApprovalInput,
    BatchRef,
    BatchResult,
    ChunkRef,
    GatherResult,
    ModelBatch,
    ScanPlan,
    TenantScanInput,
)

APPROVAL_STARTS = 8  # approval workflows a batch starts at once
MAX_CHUNKS = 400  # keeps a tenant scan's own history small whatever the tenant's size
USAGE_SLICE = 50  # customers per usage query: the progress a retried gather_usage resumes from
STRIPE_WINDOWS = 4  # the most created windows a whole-tenant Stripe list is read in, side by side (core/windows)
CRM_SHARES = 4  # the most shares a CRM's whole-tenant renewal-date read is split in
T = TypeVar("T")


async def heartbeating(work: Awaitable[T], *details: Any, every: float = 5.0) -> T:
    """Await `work` while telling Temporal this worker is alive (the SDKs run in threads that cannot, and a slow
    query never yields); `details` are the progress a retry resumes from."""
    task = asyncio.ensure_future(work)
    try:
        while not task.done():
            activity.heartbeat(*details)
            await asyncio.wait({task}, timeout=every)
    finally:
        task.cancel()  # the activity was cancelled (or timed out): stop the work with it
    return task.result()


async def _collected(pages: AsyncIterator[list[T]]) -> list[list[T]]:
    return [page async for page in pages]


def _epoch(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


SLACK_CURSOR = "slack:"  # source_cursors: "slack:<channel>", the newest ts read from it


async def require_active(db: Database, tenant_id: str) -> None:
    """A deactivated (or unknown) tenant's systems are not read and its people not written to."""
    async with db.tenant(tenant_id) as conn:
        if not await tenants.is_active(conn, tenant_id):
            raise ApplicationError(
                f"tenant {tenant_id} is deactivated (or unknown): nothing is read or sent for it",
                type="TenantInactive",
                non_retryable=True,
            )


async def apply_renewal_order(conn: asyncpg.Connection, tenant_id: str, rule: RenewalRule) -> int:
    """Each customer's renewal date from its CRM close date and Stripe's dates, in the tenant's order
    (core/renewal); returns how many moved."""
    changed = []
    for r in await customers.renewal_inputs(conn, tenant_id):
        when, source = stored_renewal_date(rule, r["crm_renewal_date"], r["billing"] or {})
        if when != r["renewal_date"] or source != (r["billing"] or {}).get("renewal_source"):
            changed.append((r["id"], when, source))
    await customers.set_renewal_dates(conn, tenant_id, changed)
    return len(changed)


def in_renewal_order(rule: RenewalRule, row: dict[str, Any], crm: dt.date | None) -> dict[str, Any]:
    """A customer row from Stripe with the renewal date apply_renewal_order would give it (the CRM close date the
    last read stored, in the tenant's order), so the sync writes the final row once: writing Stripe's date and then
    putting the CRM's back rewrote every CRM-linked customer twice a day, and made every row look changed."""
    billing = row["billing"] or {}
    if not billing and crm is None:
        return row
    when, source = stored_renewal_date(rule, crm, billing)
    return row | {
        "renewal_date": when,
        "billing": billing | {"renewal_date": when.isoformat() if when else None, "renewal_source": source},
    }


class ScanActivities:
    def __init__(
        self,
        db: Database,
        client: Client,
        secret_key: str,
        *,
        chunk_size: int = 200,
        batch_size: int = 10,
        stripe_rps: float | None = None,
        approval_queue: str = "renewals",
        connector_rps: dict[str, float] | None = None,
        usage_slice: int = USAGE_SLICE,
        connector_hosts: list[str] | None = None,
    ) -> None:
        self.db = db
        self.usage_slice = usage_slice
        self.connector_hosts = connector_hosts  # production's allow-list for the usage DSN; None in development
        self._own_identity: str | None = None
        self.client = client
        self.secret_key = secret_key
        self.chunk_size = chunk_size
        self.batch_size = batch_size
        self.approval_queue = approval_queue
        # Each tenant's pace with each vendor, shared with every other worker process through PostgreSQL; a rate
        # given here (the process's settings, a bench) wins over the tenant's own.
        overrides = (connector_rps or {}) | ({"stripe": stripe_rps} if stripe_rps else {})
        self.pace = SharedPace(db, overrides)

    # ---- tenants and runs -------------------------------------------------------------------------------------

    @activity.defn
    async def list_active_tenants(self) -> list[str]:
        return await self.db.active_tenants()

    @activity.defn
    async def list_tenant_page(self, after: str | None, limit: int) -> list[str]:
        return await self.db.active_tenants_page(after, limit)

    @activity.defn
    async def begin_scan(self, inp: TenantScanInput) -> None:
        async with self.db.tenant(inp.tenant_id) as conn:
            if not await tenants.exists(conn, inp.tenant_id):
                raise ApplicationError(
                    f"tenant {inp.tenant_id} does not exist", type="UnknownTenant", non_retryable=True
                )
            await scans.start_run(conn, inp.tenant_id, inp.run_date)

    @activity.defn
    async def finish_scan(self, inp: TenantScanInput, status: str, summary: dict[str, Any], error: str | None) -> None:
        """Record the run's end and evaluate on-call's alerts on it: the validation-failure rate, and the realised
        route mix (a tenant's first completed run sets the baseline instead)."""
        async with self.db.tenant(inp.tenant_id) as conn:
            first = not await runs.completed_before(conn, inp.run_date)
            target = await carry_db.route_mix_target(conn)  # the tenant's bands
            mix = alert_rules.route_mix(summary.get("routes") or {}, first_run=first, target=target)
            if mix is not None:
                summary = summary | {
                    "route_mix": mix.mix,
                    "route_mix_target": {r: list(band) for r, band in target.items()},
                    "route_mix_drift": mix.drift,
                    "route_mix_baseline": mix.baseline,
                    "carried_forward": await carry_db.carried_count(conn, inp.tenant_id, inp.run_date),
                }
            await scans.finish_run(conn, inp.tenant_id, inp.run_date, status, summary, error)
            notices = await oncall.evaluate(conn, inp.tenant_id, inp.run_date, mix)
            await tenants.audit(
                conn,
                inp.tenant_id,
                "scan",
                f"scan.{status}",
                inp.run_date.isoformat(),
                {"summary": summary, "error": error},
            )
        await notices.send()

    # ---- Stripe -----------------------------------------------------------------------------------------------

    async def _stripe(self, tenant_id: str) -> StripeSource:
        async with self.db.tenant(tenant_id) as conn:
            row = await tenants.get_connector(conn, tenant_id, "stripe")
        if row is None or row["secret_ciphertext"] is None:
            raise ApplicationError(
                f"connector stripe: not connected for tenant {tenant_id}; connect it with "
                f"`renewals connect stripe --tenant {tenant_id}`",
                type="NotConnected",
                non_retryable=True,
            )
        key = decrypt(self.secret_key, row["secret_ciphertext"])
        pace = self.pace.pacer(tenant_id, "stripe", key, row["config"])
        return StripeSource(
            key, row["config"].get("api_base"), pace=pace, chains=chains(self.pace.rate("stripe", key, row["config"]))
        )

    async def _renewal_rule(self, tenant_id: str) -> RenewalRule:
        """Where the tenant's renewal dates come from (core/renewal), as its Stripe connector's config says."""
        async with self.db.tenant(tenant_id) as conn:
            row = await tenants.get_connector(conn, tenant_id, "stripe")
        return RenewalRule.from_config(row["config"] if row else {})

    async def _connector_failed(self, tenant_id: str, kind: str, err: ApplicationError) -> None:
        """Every failed attempt leaves its mark on the connector (unreachable since…, rate limited, credentials
        rejected), so GET /v1/connectors tells the truth during an outage, not only after it. Best effort: when
        Postgres is what is down, the vendor's error is still the one raised."""
        try:
            async with self.db.tenant(tenant_id) as conn:
                await tenants.connector_state(conn, tenant_id, kind, connector_state(err), err.message)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            activity.logger.warning("connector %s: could not record its state: %s", kind, e)

    async def _connector_reached(self, tenant_id: str, kind: str) -> None:
        """A vendor call succeeded: a connector shown as failing is connected again (a note left by the customer
        sync about malformed records stays)."""
        async with self.db.tenant(tenant_id) as conn:
            await tenants.connector_reached(conn, tenant_id, kind)

    @activity.defn
    async def sync_customers(self, inp: TenantScanInput) -> int:
        """Hydrate the tenant's customer list (ARR, contract, renewal date) from Stripe. The first step of a scan
        and of a briefing, so a deactivated tenant's runs stop here."""
        await require_active(self.db, inp.tenant_id)
        source = await self._stripe(inp.tenant_id)
        rule = await self._renewal_rule(inp.tenant_id)
        async with self.db.tenant(inp.tenant_id) as conn:
            sub_cuts = await sources.cut_points(conn, sources.STRIPE_SUBSCRIPTION_CUTS)
            customer_cuts = await sources.cut_points(conn, sources.STRIPE_CUSTOMER_CUTS)
        try:
            # Both lists at once, each cut where the last read shared it out evenly (core/windows), as far as this
            # read's half of the tenant's Stripe chains allows (the invoice read beside it has the other half): at
            # 10,000 customers they are 200 pages, which one after the other cost a round trip each.
            per_list = source.chains // 4

            def subs_read() -> Awaitable[list[list[dict[str, Any]]]]:
                return _collected(source.subscription_pages(windows(coarser(sub_cuts, per_list))))

            def customers_read() -> Awaitable[list[list[dict[str, Any]]]]:
                return _collected(source.customer_pages(windows(coarser(customer_cuts, per_list))))

            if per_list:
                sub_pages, customer_pages = await heartbeating(asyncio.gather(subs_read(), customers_read()))
            else:  # one chain: one list after the other
                sub_pages = await heartbeating(subs_read())
                customer_pages = await heartbeating(customers_read())
        except ApplicationError as e:
            await self._connector_failed(inp.tenant_id, "stripe", e)
            raise
        subs: dict[str, list[dict[str, Any]]] = {}
        bad: list[str] = []
        for s in (s for page in sub_pages for s in page):
            try:  # read at the edge: one broken subscription is named, and costs only its customer
                sub = read(Subscription, s)
                subs.setdefault(sub["customer"], []).append(sub)
            except MalformedRecord as e:
                bad.append(str(e))
        rows = []
        for c in (c for page in customer_pages for c in page):
            try:
                rows.append(customer_row(c, pick_subscription(subs.get(str(c.get("id", "")), [])), rule))
            except MalformedRecord as e:
                bad.append(str(e))
        async with self.db.tenant(inp.tenant_id) as conn:
            for name, pages in (
                (sources.STRIPE_SUBSCRIPTION_CUTS, sub_pages),
                (sources.STRIPE_CUSTOMER_CUTS, customer_pages),
            ):
                created = [o["created"] for page in pages for o in page if isinstance(o.get("created"), int)]
                await sources.set_cut_points(
                    conn, inp.tenant_id, name, quantile_points(created, STRIPE_WINDOWS), inp.run_date
                )  # the most a read uses; one at a slower pace uses fewer (coarser)
            crm = await customers.crm_renewal_dates(conn, inp.tenant_id)  # the dates the last scan read still count
            # whose CRM links the CRMs' whole-tenant read (run beside this sync, from the stored links) did not see
            before = await customers.crm_links(conn, inp.tenant_id)
            changed = [r["id"] for r in rows if r["status"] in customers.PAYING and before.get(r["id"]) != r["links"]]
            await sources.add_changed_links(conn, inp.tenant_id, changed, inp.run_date)
            await scans.upsert_customers(
                conn, inp.tenant_id, [in_renewal_order(rule, r, crm.get(r["id"])) for r in rows]
            )
            note = f"{len(bad)} malformed record(s) not read, first: {bad[0]}" if bad else None
            await tenants.connector_state(conn, inp.tenant_id, "stripe", "connected", note)
            if bad:  # loud, in the audit log too: these customers are not monitored until their records are fixed
                await tenants.audit(
                    conn,
                    inp.tenant_id,
                    "scan",
                    "stripe.malformed_records",
                    inp.run_date.isoformat(),
                    {"records": bad[:50]},
                )
        if bad:
            activity.logger.warning("stripe: %d malformed record(s) skipped, first: %s", len(bad), bad[0])
        return len(rows)

    @activity.defn
    async def read_crm_renewals(self, inp: TenantScanInput, kind: str) -> int:
        """The renewal deal's (HubSpot) or opportunity's (Salesforce) close date of every paying customer, in one
        batched read per tenant and scan, stored on the customer row for select_due. Returns how many customers
        have one. A CRM not connected clears the dates it read before; a rejected key is shown on the connector
        and keeps them (the evidence gathering says the rest)."""
        return await self._read_crm(inp, kind, None)

    @activity.defn
    async def read_crm_renewal_changes(self, inp: TenantScanInput, kind: str) -> int:
        """The close dates of only the customers whose CRM links this scan day's customer sync changed (new paying
        customers among them): the whole-tenant read ran beside that sync, from the links stored before it. Nothing
        changed, no vendor call; the sync not having said (another day's list), the whole read again."""
        async with self.db.tenant(inp.tenant_id) as conn:
            changed = await sources.changed_links(conn, inp.run_date)
        if changed is None:
            return await self._read_crm(inp, kind, None)
        return await self._read_crm(inp, kind, changed) if changed else 0

    async def _read_crm(self, inp: TenantScanInput, kind: str, only: list[str] | None) -> int:
        await require_active(self.db, inp.tenant_id)  # it runs beside sync_customers, not after its check
        async with self.db.tenant(inp.tenant_id) as conn:
            row = await tenants.get_connector(conn, inp.tenant_id, kind)
            if row is None or row["secret_ciphertext"] is None:
                await customers.set_crm_renewal_dates(conn, inp.tenant_id, kind, {}, only)
                return 0
            links = await customers.crm_links(conn, inp.tenant_id, only)
        try:
            key = decrypt(self.secret_key, row["secret_ciphertext"])
            crm = open_crm(kind, key, row["config"], self.pace.pacer(inp.tenant_id, kind, key, row["config"]))
            # in shares read at once, where the tenant's pace can feed more than one chain of requests
            parts = chains(self.pace.rate(kind, key, row["config"]), CRM_SHARES)
            dates = await heartbeating(crm.renewal_dates(links, inp.run_date, parts))
        except ApplicationError as e:
            await self._connector_failed(inp.tenant_id, kind, e)
            if not e.non_retryable:
                raise
            return 0
        async with self.db.tenant(inp.tenant_id) as conn:
            await customers.set_crm_renewal_dates(conn, inp.tenant_id, kind, dates, only)
        return sum(1 for d in dates.values() if d)

    @activity.defn
    async def sync_invoices(self, inp: TenantScanInput) -> int:
        """The tenant's invoices into PostgreSQL from one paginated list (`created[gte]`, 100 a page; cut into
        created windows read side by side where the pace allows), once per scan, beside the customer sync; the
        chunks then read them there (gather_stripe). Incremental: the read starts at the oldest kept
        invoice that may still change, so a paid or voided invoice is re-read until it settles, and a missed
        webhook is healed here. Returns the invoices read."""
        await require_active(self.db, inp.tenant_id)  # it runs beside sync_customers, not after its check
        source = await self._stripe(inp.tenant_id)
        window = _epoch(inp.run_date - dt.timedelta(days=HISTORY_DAYS))
        async with self.db.tenant(inp.tenant_id) as conn:
            start = await sources.invoice_cursor(conn, window)
        read, batch = 0, []
        # Invoices come at billing's steady pace: even created windows share the read out, each its own chain.
        end = max(int(time.time()), _epoch(inp.run_date + dt.timedelta(days=1)))
        # half the tenant's Stripe chains: the customer sync runs beside this read with the other half
        cuts = windows(even_points(start, end, source.chains // 2), since=start)
        try:
            async for page in source.tenant_invoice_pages(cuts):
                # else it cannot be kept nor cited
                batch += [inv for inv in page if inv.get("id") and isinstance(inv.get("customer"), str)]
                if len(batch) >= 500:
                    read += await self._keep_invoices(inp.tenant_id, batch)
                    activity.heartbeat(read)
        except ApplicationError as e:
            await self._connector_failed(inp.tenant_id, "stripe", e)
            raise
        read += await self._keep_invoices(inp.tenant_id, batch)
        async with self.db.tenant(inp.tenant_id) as conn:
            await sources.set_cursor(conn, inp.tenant_id, sources.STRIPE_INVOICES, str(start), inp.run_date)
        return read

    async def _keep_invoices(self, tenant_id: str, batch: list[dict[str, Any]]) -> int:
        async with self.db.tenant(tenant_id) as conn:  # true as of now: a webhook event sent before loses to it
            await sources.put_invoices(conn, tenant_id, batch, int(time.time()))
        n = len(batch)
        batch.clear()
        return n

    async def _stored_invoices(self, ref: ChunkRef, ids: list[str], since: dt.date) -> dict[str, list[Any]] | None:
        """The chunk's invoices from PostgreSQL when this scan day's tenant-wide read has run (sync_invoices);
        None otherwise (a briefing, a scan started before that step existed): then one list per customer."""
        async with self.db.tenant(ref.tenant_id) as conn:
            cur = await sources.cursor(conn, sources.STRIPE_INVOICES)
            if cur is None or cur[1] is None or cur[1] < ref.run_date:
                return None
            return await sources.invoices_for(conn, ids, _epoch(since))

    @activity.defn
    async def select_due(self, inp: TenantScanInput) -> ScanPlan:
        rule = await self._renewal_rule(inp.tenant_id)
        async with self.db.tenant(inp.tenant_id) as conn:
            await apply_renewal_order(conn, inp.tenant_id, rule)  # with the CRM dates read_crm_renewals just stored
            due = await customers.count(conn, inp.tenant_id)
            chunk = max(self.chunk_size, math.ceil(due / MAX_CHUNKS))
            plan = await scans.freeze_due(conn, inp.tenant_id, inp.run_date, chunk)
            connected = {r["kind"] for r in await tenants.list_connectors(conn) if r["has_secret"]}
        return plan.model_copy(update={"sources": [k for k in OPTIONAL if k in connected]})

    async def _chunk(self, ref: ChunkRef, source: str) -> list[CustomerProfile]:
        async with self.db.tenant(ref.tenant_id) as conn:
            profiles = await scans.chunk_profiles(conn, ref.tenant_id, ref.run_date, ref.chunk_no, ref.scope)
            if ref.scope == "briefing":
                profiles = await scans.not_yet_gathered(conn, ref.tenant_id, ref.run_date, source, profiles)
        return profiles

    @activity.defn
    async def gather_stripe(self, ref: ChunkRef) -> GatherResult:
        """Payment signals for one chunk of customers; a malformed record costs that customer's Stripe
        evidence (named in the bundle), not the chunk."""
        source = await self._stripe(ref.tenant_id)
        profiles = await self._chunk(ref, "stripe")
        since = ref.run_date - dt.timedelta(days=HISTORY_DAYS)
        found: dict[str, tuple[list[EvidenceItem], str | None]] = {}
        errors: list[str] = []
        stored = await self._stored_invoices(ref, [p.customer_id for p in profiles], since)
        for n, p in enumerate(profiles):
            try:
                invoices = stored[p.customer_id] if stored is not None else await source.invoices(p.customer_id, since)
            except ApplicationError as e:
                await self._connector_failed(ref.tenant_id, "stripe", e)
                raise
            # A subscription without items keeps its customer, and its bundle says what is unknown.
            problem = str(p.billing["problem"]) if p.billing.get("problem") else None
            try:
                found[p.customer_id] = (subscription_signals(p) + invoice_signals(invoices, ref.run_date), problem)
            except MalformedRecord as e:  # one invoice that does not fit costs this customer its invoice evidence
                problem = f"malformed record: {e}"
                found[p.customer_id] = (subscription_signals(p), problem)
            if problem:
                errors.append(f"stripe: {problem}")
            activity.heartbeat(n)
        async with self.db.tenant(ref.tenant_id) as conn:
            await scans.write_evidence(conn, ref.tenant_id, ref.run_date, "stripe", found)
        if profiles:
            await self._connector_reached(ref.tenant_id, "stripe")
        return GatherResult(
            source="stripe", customers=len(profiles), items=sum(len(i) for i, _ in found.values()), errors=errors[:20]
        )

    @activity.defn
    async def gather_usage(self, ref: ChunkRef) -> GatherResult:
        """Usage trends from the tenant's product database, when connected. A query that fails for good costs
        the chunk its usage evidence (each bundle says why), never the scan."""
        async with self.db.tenant(ref.tenant_id) as conn:
            row = await tenants.get_connector(conn, ref.tenant_id, "usage")
        profiles = await self._chunk(ref, "usage")
        if row is not None and row["secret_ciphertext"] is not None:
            source: UsageSource | PushedUsage = UsageSource(
                decrypt(self.secret_key, row["secret_ciphertext"]),
                row["config"]["query"],
                own_dsn=self.db.dsn,
                own_identity=await self._identity(),
                hosts=self.connector_hosts,
            )
        else:
            async with self.db.tenant(ref.tenant_id) as conn:
                if not await usage.any_pushed(conn):
                    return GatherResult(source="usage", customers=0, items=0)
            source = PushedUsage(self.db, ref.tenant_id)  # POST /v1/usage
        # Slice by slice, each slice's evidence written before the next: a slow product database heartbeats while
        # its query runs, and a retry resumes after the last slice written (the heartbeat details), not from the
        # first customer.
        details = activity.info().heartbeat_details
        done, items = (int(details[0]), int(details[1])) if len(details) >= 2 else (0, 0)
        if ref.scope == "briefing":  # its chunk already leaves out the customers whose usage was written
            done = 0
        error, state = None, "connected"
        for start in range(done, len(profiles), self.usage_slice):
            part = profiles[start : start + self.usage_slice]
            try:
                found = await heartbeating(UsageConnector(source).gather(part, ref.run_date), start, items)
            except ApplicationError as e:
                if isinstance(e, UsageFailure):  # the driver's words go to the admins, never to the operators
                    await self._keep_for_admins(ref.tenant_id, e)
                if not e.non_retryable:
                    await self._connector_failed(ref.tenant_id, "usage", e)
                    raise
                error, state = e.message, connector_state(e)
                rest = profiles[start:]
                async with self.db.tenant(ref.tenant_id) as conn:
                    await scans.write_evidence(
                        conn, ref.tenant_id, ref.run_date, "usage", {p.customer_id: ([], error) for p in rest}
                    )
                break
            async with self.db.tenant(ref.tenant_id) as conn:
                await scans.write_evidence(conn, ref.tenant_id, ref.run_date, "usage", found)
            items += sum(len(i) for i, _ in found.values())
            activity.heartbeat(start + len(part), items)
        async with self.db.tenant(ref.tenant_id) as conn:
            await tenants.connector_state(conn, ref.tenant_id, "usage", state, error)
        return GatherResult(
            source="usage", customers=len(profiles), items=items, errors=[f"usage: {error}"] if error else []
        )

    async def _identity(self) -> str:
        """The product's own server, as it describes itself: a usage DSN that reaches it is refused."""
        if self._own_identity is None:
            async with self.db.connection() as conn:
                self._own_identity = await server_identity(conn)
        return self._own_identity

    async def _keep_for_admins(self, tenant_id: str, e: UsageFailure) -> None:
        """The database's own words, in the audit log under the reference the operators see instead."""
        async with self.db.tenant(tenant_id) as conn:
            await tenants.audit(
                conn, tenant_id, "worker", "connector.error", e.reference, {"kind": "usage", "error": e.driver_text}
            )

    # ---- HubSpot, Salesforce, Slack ---------------------------------------------------------------------------

    @activity.defn
    async def gather_source(self, ref: ChunkRef, kind: str) -> GatherResult:
        """One optional source's evidence for a chunk. A malformed record costs that customer this source; a
        rejected key (non-retryable) costs the chunk this source: it is shown on the connector, and every
        bundle says the source is missing. Outages and 429s are retried by Temporal."""
        async with self.db.tenant(ref.tenant_id) as conn:
            row = await tenants.get_connector(conn, ref.tenant_id, kind)
            profiles = await scans.chunk_profiles(conn, ref.tenant_id, ref.run_date, ref.chunk_no, ref.scope)
        if row is None or row["secret_ciphertext"] is None:
            return GatherResult(source=kind, customers=0, items=0)
        error, state = None, "connected"
        try:
            key = decrypt(self.secret_key, row["secret_ciphertext"])
            pace = self.pace.pacer(ref.tenant_id, kind, key, row["config"])
            kept, events_on, users = await self._slack_kept(ref, profiles) if kind == "slack" else (None, False, None)
            connector = open_connector(
                kind,
                key,
                row["config"],
                pace,
                slack_kept=kept,
                slack_events_on=events_on,
                slack_users=users,
                hold=self.pace.holder(ref.tenant_id, kind),
            )
            found = await heartbeating(connector.gather(profiles, ref.run_date))
            if isinstance(connector, SlackConnector):
                await self._keep_slack(ref, connector.read, connector.asked)
        except ApplicationError as e:
            if not e.non_retryable:
                await self._connector_failed(ref.tenant_id, kind, e)
                raise
            error, state = e.message, connector_state(e)
            found = {p.customer_id: ([], error) for p in profiles}
        async with self.db.tenant(ref.tenant_id) as conn:
            await scans.write_evidence(conn, ref.tenant_id, ref.run_date, kind, found)
            await tenants.connector_state(conn, ref.tenant_id, kind, state, error)
        problems = [f"{cid}: {err}" for cid, (_, err) in found.items() if err and not err.startswith("no ")]
        return GatherResult(
            source=kind,
            customers=len(profiles),
            items=sum(len(i) for i, _ in found.values()),
            errors=[error] if error else problems[:20],
        )

    async def _slack_kept(
        self, ref: ChunkRef, profiles: list[CustomerProfile]
    ) -> tuple[dict[str, Kept], bool, dict[str, dict[str, Any]]]:
        """The chunk's channels as PostgreSQL keeps them, whether Slack's Events API feeds this tenant, and the
        users.info records kept."""
        channels = [c for p in profiles if (c := p.links.get(SLACK_LINK))]
        oldest = day_ts(ref.run_date - dt.timedelta(days=SLACK_LOOKBACK_DAYS))
        async with self.db.tenant(ref.tenant_id) as conn:
            messages = await sources.kept_messages(conn, channels, oldest)
            marks = await sources.read_marks(conn, SLACK_CURSOR)
            events_on = await sources.cursor(conn, sources.SLACK_EVENTS) is not None
            users = await sources.kept_users(conn)
        kept = {
            c: Kept(messages[c], *marks[c]) if c in marks else Kept(messages[c])  # never read: the whole window
            for c in channels
        }
        return kept, events_on, users

    async def _keep_slack(
        self,
        ref: ChunkRef,
        read: dict[str, tuple[list[dict[str, Any]], str | None]],
        asked: dict[str, dict[str, Any]],
    ) -> None:
        """What this gather read from Slack: messages, each channel's new cursor, the users it asked about."""
        async with self.db.tenant(ref.tenant_id) as conn:
            await sources.put_users(conn, ref.tenant_id, asked)
        async with self.db.tenant(ref.tenant_id) as conn:
            for channel, (messages, cursor) in sorted(read.items()):
                await sources.put_messages(conn, ref.tenant_id, channel, [m for m in messages if readable_ts(m)])
                if cursor:
                    await sources.set_cursor(conn, ref.tenant_id, SLACK_CURSOR + channel, cursor, ref.run_date)

    @activity.defn
    async def mark_missing(self, ref: ChunkRef, kind: str, message: str) -> None:
        """A source that failed for good after its retries: each bundle in the chunk says so."""
        async with self.db.tenant(ref.tenant_id) as conn:
            profiles = await scans.chunk_profiles(conn, ref.tenant_id, ref.run_date, ref.chunk_no, ref.scope)
            await scans.write_evidence(
                conn, ref.tenant_id, ref.run_date, kind, {p.customer_id: ([], message) for p in profiles}
            )

    # ---- routing ---------------------------------------------------------------------------

    @activity.defn
    async def route_chunk(self, ref: ChunkRef) -> list[BatchRef]:
        async with self.db.tenant(ref.tenant_id) as conn:
            profiles = await scans.chunk_profiles(conn, ref.tenant_id, ref.run_date, ref.chunk_no, ref.scope)
            ids = [p.customer_id for p in profiles]
            bundles = await scans.load_bundles(conn, ref.tenant_id, ref.run_date, ids)
            seen = await scans.previous_evidence_ids(conn, ref.tenant_id, ref.run_date, ids)
            previous = await scans.previous_entries(conn, ref.tenant_id, ref.run_date, ids)
            thresholds = await carry_db.thresholds(conn)
            routed = []
            for p in profiles:
                prev = previous.get(p.customer_id, [])
                features = routing.RouteFeatures(
                    arr_cents=p.arr_cents,
                    last_severity=prev[0].severity if prev else None,
                    severity_before_last=prev[1].severity if len(prev) > 1 else None,
                    new_strong_signals=routing.count_new_strong(
                        ((i.source_id, i.signal) for i in bundles[p.customer_id].items),
                        seen.get(p.customer_id, set()),
                        thresholds,
                    ),
                )
                routed.append((p.customer_id, routing.route_customer(features, thresholds)))
            unchanged = await likely_carried(conn, ref.tenant_id, ref.run_date, profiles, bundles, routed)
            # Batch numbers are unique within the run: chunk_no * 1000 + position.
            refs, assignments = [], []
            for i, (route, members) in enumerate(routing.batches(routed, self.batch_size, unchanged)):
                batch_no = ref.chunk_no * 1000 + i
                refs.append(
                    BatchRef(
                        tenant_id=ref.tenant_id,
                        run_date=ref.run_date,
                        batch_no=batch_no,
                        route=route,
                        size=len(members),
                    )
                )
                assignments += [(cid, route, batch_no) for cid in members]
            await scans.assign_batches(conn, ref.tenant_id, ref.run_date, assignments)
        return refs

    @activity.defn
    async def judge_batch(self, ref: BatchRef) -> ModelBatch:
        """A batch judged in one activity when it can be: read (JudgeActivities.read_batch) and, when it was read at
        once and no TIER3 review follows, recorded with its approvals started (record_and_approve), its result
        returned. Otherwise what read_batch returned, and the workflow goes on (a vendor batch to wait for, the
        review). For most batches one activity and one workflow task where there were two of each: each a round
        trip to the server, and the record no longer re-reads what the read just parsed from a second activity's
        start (issue 14). A retry after the read finds the worker's output saved and only records."""
        sub = await JudgeActivities(self.db, self.secret_key).read_batch(ref)
        if sub.batch_id is None and ref.route != "TIER3":
            return sub.model_copy(update={"result": await self.record_and_approve(ref)})
        return sub

    @activity.defn
    async def record_and_approve(self, ref: BatchRef) -> BatchResult:
        """A batch's verdicts recorded (JudgeActivities.record_batch), then its drafts' approvals started, in one
        activity where there were two: one round trip to the server and one workflow task fewer per batch. A retry
        after the record's commit records nothing twice (record_verdicts) and starts only the approvals missing."""
        result = await record(self.db, ref)
        if result.drafts:
            await self._start_approvals(ref, result.drafts)
        return result

    @activity.defn
    async def start_approvals(self, ref: BatchRef, draft_ids: list[str]) -> int:
        return await self._start_approvals(ref, draft_ids)

    async def _start_approvals(self, ref: BatchRef, draft_ids: list[str]) -> int:
        """Start one ApprovalWorkflow per draft. Deterministic ids make a retry a no-op; starting them here
        rather than as children keeps the batch's history small and clear of the pending-children limit."""
        async with self.db.tenant(ref.tenant_id) as conn:
            rows = await drafts.to_approve(conn, ref.tenant_id, draft_ids)
            auto_send = (await tenants.get_settings(conn, ref.tenant_id))["auto_send"]
            failure_rate = await drafts.validation_failure_rate(conn)
            review_in_slack = await slack_review.review_channel(conn) is not None
        # Started side by side, a few at a time: one after the other, a batch's approvals cost a round trip to
        # the server each, and at 10,000 customers that queue showed in the scan's time.
        window = asyncio.Semaphore(APPROVAL_STARTS)

        async def start(r: asyncpg.Record) -> int:
            async with window:
                try:
                    await self.client.start_workflow(
                        "ApprovalWorkflow",
                        ApprovalInput(
                            tenant_id=ref.tenant_id,
                            draft_id=r["id"],
                            customer_id=r["customer_id"],
                            run_date=ref.run_date,
                            auto_send=routing.may_auto_send(
                                r["route"],
                                r["classification"],
                                r["arr_cents"],
                                auto_send,
                                severity=r["severity"],
                                needs_review=r["needs_review"],
                                quotes_customer=r["quotes_customer"],
                                has_notes=r["has_notes"],
                                failure_rate=failure_rate,
                            ),
                            review_in_slack=review_in_slack,
                        ),
                        id=r["workflow_id"],
                        task_queue=self.approval_queue,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        search_attributes=search.attrs(
                            (search.TENANT, ref.tenant_id),
                            (search.CUSTOMER, r["customer_id"]),
                            (search.ROUTE, r["route"]),
                            (search.VERDICT, r["classification"]),
                            (search.RUN_DATE, ref.run_date.isoformat()),
                            (search.DRAFT_STATUS, "pending"),
                        ),
                        static_summary=f"Approve the {r['classification']} email to {r['customer_id']}",
                    )
                    return 1
                except WorkflowAlreadyStartedError:
                    return 0

        return sum(await asyncio.gather(*[start(r) for r in rows]))
