"""Judgement activities: the route's model reads ten customers, every row is validated against its own bundle,
TIER3 gets a cross-vendor supervisor and a tiebreaker, and every call is priced into the ledger before the
per-customer daily cap is checked again.

Model answers are kept per stage in model_outputs, so a retried activity never pays for the same call twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import oncall, overrides
from core import citations, freshness
from core.carry import carried_verdict, fingerprint, may_carry
from core.cost import over_cap, split_cost
from core.factors import breakdown
from core.overrides import holds, prompt_note
from core.profiles import WeightVersion, weighting, weights_cited
from core.secrets import decrypt
from db import carry as carry_db
from db import ledger, scans, tenants
from db import model_batches as batch_rows
from db import overrides as override_rows
from db import profiles as weight_versions
from db import settings as tenant_settings
from db.pool import Database
from llm import registry
from llm.base import CustomerContext, Model
from llm.batch import BatchModel, batch_key, poll_seconds, result_for, uses_batch_api
from llm.offline import NAME as OFFLINE_NAME
from llm.offline import verdict_for
from llm.pricing import UnknownModelPrice, price_usd
from llm.prompt import Completion, StructuredModel, T, build_prompt
from llm.supervisor import (
    RowFlag,
    SupervisorReview,
    credible_flags,
    resolve,
    supervisor_prompt,
    tiebreaker_prompt,
)
from schemas.evidence import CustomerProfile, EvidenceBundle
from schemas.offers import EmailSettings
from schemas.verdict import BatchVerdicts, FactorBreakdown, Verdict, VerdictRow
from schemas.workflow_io import BatchRef, BatchResult, ModelBatch

DEFAULT_SPECS = {
    "TIER1": registry.TIER1,
    "TIER2": registry.TIER2,
    "TIER3": registry.TIER3_WORKER,
    "SUPERVISOR": registry.SUPERVISOR,
    "TIEBREAKER": registry.TIEBREAKER,
    "HEALTH": registry.OFFLINE,
}  # the briefing uses a model only when the tenant names one
FALLBACK_AFTER_ATTEMPTS = 3  # a model that keeps answering nonsense: the offline model finishes the batch
CLAIMS_KEPT_DAYS = 2  # batch ids saved this recently are another submission's, never taken for a lost one


async def charge(
    db: Database,
    tenant_id: str,
    run_date: dt.date,
    batch_no: int,
    stage: str,
    tier: str,
    spec: str,
    customers: list[str],
    tin: int,
    tout: int,
    *,
    cache: tuple[int, int] = (0, 0),
    batched: bool = False,
) -> None:
    """One model call into the ledger, its price shared across the customers it served. `cache` is its (written,
    read) prompt-cache tokens, priced at the table's cache rates; `batched` a call through a vendor batch API."""
    if spec == registry.OFFLINE or not customers:
        return
    try:
        cost = price_usd(spec, tin, tout, cache_write=cache[0], cache_read=cache[1], batched=batched)
    except UnknownModelPrice:
        activity.logger.warning("no list price for %s; ledger records tokens at $0", spec)
        cost = 0.0
    shares = split_cost(cost, customers)
    n = len(customers)
    async with db.tenant(tenant_id) as conn:
        await ledger.record_calls(
            conn,
            tenant_id,
            run_date,
            batch_no,
            stage,
            tier,
            spec,
            {c: (tin // n, tout // n, shares[c]) for c in customers},
            cache=cache,
            batched=batched,
        )


def judged_by(bundle: EvidenceBundle, version: WeightVersion, customer: CustomerProfile) -> FactorBreakdown:
    """The factor math with the weights and thresholds of the customer's segment profile, saying which profile
    and weights version judged it, and which evidence is stale."""
    name, weights, thresholds = weighting(version, customer, bundle.run_date)
    b = breakdown(bundle.items, weights, thresholds, missing=bundle.missing)
    return b.model_copy(
        update={"stale": freshness.stale_ids(bundle.items), "profile": name, "weights_version": version.version}
    )


def checked(
    row: VerdictRow, ctx: CustomerContext, route: str, settings: EmailSettings
) -> tuple[VerdictRow, list[str], dict[str, Any]]:
    """Validate a model's row against its own bundle, and render what passed: the row as it may be stored, the
    notes, and the Verdict fields holding the rendered diary and email."""
    row, notes = citations.validate_row(
        row, ctx.bundle, ctx.profile.name, settings=settings, route=route, breakdown=ctx.breakdown
    )
    stale = freshness.stale_reason(ctx.bundle.items, ctx.breakdown, ctx.bundle.run_date)
    if stale and row.abstain_reason is None:  # a vendor model that judged anyway: held like the offline model
        row = freshness.abstain_row(row, stale)
        notes.append(f"{row.customer_id}: {stale}; the model's verdict is held for the operator")
    rc = citations.context(
        ctx.bundle, ctx.profile.name, row.classification, settings=settings, route=route, breakdown=ctx.breakdown
    )
    rendered = {
        "rendered_diary": citations.render_diary(row.diary, rc) + weights_cited(ctx.breakdown),
        "rendered_email": citations.render_email(row.email, rc) if row.email else None,
    }
    return row, notes, rendered


def override_note(r: Any, today: dt.date) -> str | None:
    """What the model reads of an override holding today (one past its date lapses as this run records)."""
    if r is None or not holds(r["expires_on"], False, today):
        return None
    return prompt_note(r["verdict"], r["reason"], r["set_by"], r["expires_on"])


async def capped(db: Database, tenant_id: str, customers: list[str]) -> tuple[set[str], dict[str, float], float]:
    """The customers at the tenant's daily cost cap, what each has spent today, and the cap."""
    async with db.tenant(tenant_id) as conn:
        return await capped_in(conn, tenant_id, customers)


async def capped_in(
    conn: asyncpg.Connection, tenant_id: str, customers: list[str]
) -> tuple[set[str], dict[str, float], float]:
    """capped, in the caller's tenant transaction."""
    cap = float((await tenants.get_settings(conn, tenant_id))["daily_cost_cap_usd"])
    spent = await ledger.spent_today(conn, customers)
    return over_cap(spent, cap, customers), spent, cap


def request_id(ref: BatchRef) -> str:
    """The custom_id of a batch's request: one request per ClassifyBatchWorkflow, its ten customers sharing it."""
    return f"{ref.run_date.isoformat()}-{ref.batch_no}"


@dataclass
class Plan:
    contexts: list[CustomerContext]
    spec: str
    model: Model
    name: str  # what verdicts record as their model
    prints: dict[str, str]  # customer -> evidence fingerprint
    carried: dict[str, Verdict]
    capped: set[str]
    live: list[CustomerContext]  # neither carried nor capped: the customers a model reads
    notes: dict[str, list[str]]
    email: EmailSettings  # read with the contexts: what the rows are rendered with


@dataclass
class Review:
    """What the TIER3 supervisor reads: the worker's rows of the customers neither capped nor carried forward."""

    contexts: list[CustomerContext]
    worker: list[Verdict]
    capped: set[str]
    spec: str
    model: Model

    @property
    def asks(self) -> bool:
        return bool(self.contexts) and self.spec != registry.OFFLINE and isinstance(self.model, StructuredModel)


@dataclass
class Tiebreak:
    """What the tiebreaker reads of one disputed customer."""

    ctx: CustomerContext
    worker: VerdictRow
    flag: RowFlag
    spec: str
    model: Model
    capped: bool

    @property
    def asks(self) -> bool:
        return not self.capped and self.spec != registry.OFFLINE and isinstance(self.model, StructuredModel)


class JudgeActivities:
    def __init__(self, db: Database, secret_key: str) -> None:
        self.db = db
        self.secret_key = secret_key

    async def model_for(self, tenant_id: str, role: str) -> tuple[str, Model]:
        """The tenant's model for a role; the offline model when none is configured or its vendor has no key."""
        async with self.db.tenant(tenant_id) as conn:
            return await self._model_in(conn, role)

    async def _model_in(self, conn: asyncpg.Connection, role: str) -> tuple[str, Model]:
        """model_for in the caller's tenant transaction."""
        models, base_urls, sealed = await ledger.model_config(conn)
        spec = models.get(role) or DEFAULT_SPECS[role]
        keys = {vendor: decrypt(self.secret_key, token) for vendor, token in sealed.items()}
        try:
            return spec, registry.get_model(spec, keys=keys, base_urls=base_urls)
        except ValueError:
            return registry.OFFLINE, registry.get_model(registry.OFFLINE, keys={}, base_urls={})

    async def _contexts(self, ref: BatchRef) -> list[CustomerContext]:
        async with self.db.tenant(ref.tenant_id) as conn:
            return (await self._contexts_in(conn, ref))[0]

    async def _contexts_in(
        self, conn: asyncpg.Connection, ref: BatchRef
    ) -> tuple[list[CustomerContext], EmailSettings]:
        """The batch's contexts, and the tenant's email settings read for them, in the caller's transaction."""
        profiles = await scans.batch_profiles(conn, ref.tenant_id, ref.run_date, ref.batch_no)
        ids = [p.customer_id for p in profiles]
        bundles = await scans.load_bundles(conn, ref.tenant_id, ref.run_date, ids)
        previous = await scans.previous_entries(conn, ref.tenant_id, ref.run_date, ids)
        version = await weight_versions.current(conn, ref.tenant_id)
        limits = freshness.limits_of(await weight_versions.freshness_days(conn, ref.tenant_id))
        email = await tenant_settings.email_settings(conn)
        held = await override_rows.open_for(conn, ids)
        offers = [o for o in email.offers if ref.route in o.routes]
        return [
            CustomerContext(
                profile=p,
                bundle=(bundle := freshness.mark(bundles[p.customer_id], limits)),
                breakdown=judged_by(bundle, version, p),
                previous=previous.get(p.customer_id, []),
                offers=offers,
                override_note=override_note(held.get(p.customer_id), ref.run_date),
            )
            for p in profiles
        ], email

    async def _email_settings(self, tenant_id: str) -> EmailSettings:
        async with self.db.tenant(tenant_id) as conn:
            return await tenant_settings.email_settings(conn)

    async def _charge(
        self,
        ref: BatchRef,
        stage: str,
        spec: str,
        customers: list[str],
        tin: int,
        tout: int,
        cache: tuple[int, int] = (0, 0),
        batched: bool = False,
    ) -> None:
        await charge(
            self.db,
            ref.tenant_id,
            ref.run_date,
            ref.batch_no,
            stage,
            ref.route,
            spec,
            customers,
            tin,
            tout,
            cache=cache,
            batched=batched,
        )

    async def _capped(self, ref: BatchRef, customers: list[str]) -> tuple[set[str], dict[str, float], float]:
        return await capped(self.db, ref.tenant_id, customers)

    async def _plan(self, ref: BatchRef) -> Plan:
        async with self.db.tenant(ref.tenant_id) as conn:
            return await self._plan_in(conn, ref)

    async def _plan_in(self, conn: asyncpg.Connection, ref: BatchRef) -> Plan:
        """What a batch's worker call needs: the contexts, who is capped, who is carried forward, who is live. One
        transaction for all its reads (each transaction costs three round trips of its own: begin, tenant, commit)."""
        contexts, email = await self._contexts_in(conn, ref)
        ids = [c.profile.customer_id for c in contexts]
        capped, spent, cap = await capped_in(conn, ref.tenant_id, ids)
        spec, model = await self._model_in(conn, ref.route)
        name = model.name if spec == registry.OFFLINE else spec
        prints = {
            c.profile.customer_id: fingerprint(c.profile, c.bundle, c.breakdown, c.offers, c.override_note)
            for c in contexts
        }
        carried = await self._carried_in(conn, ref, contexts, prints, name)
        capped -= carried.keys()  # a carried verdict costs nothing: the cap does not turn it into an offline one
        live = [c for c in contexts if c.profile.customer_id not in capped and c.profile.customer_id not in carried]
        notes: dict[str, list[str]] = {c: [] for c in ids}
        for cid in capped:
            notes[cid].append(
                f"cost cap reached: ${spent.get(cid, 0.0):.4f} of ${cap:.4f} today; finished by the offline model"
            )
        return Plan(contexts, spec, model, name, prints, carried, capped, live, notes, email)

    async def _worker_done(self, ref: BatchRef) -> dict[str, Any] | None:
        async with self.db.tenant(ref.tenant_id) as conn:
            return await scans.load_model_output(conn, ref.tenant_id, ref.run_date, ref.batch_no, "worker")

    @activity.defn
    async def classify_batch(self, ref: BatchRef) -> int:
        """The route's worker model on the batch. Returns how many rows validation demoted."""
        if (done := await self._worker_done(ref)) is not None:
            return sum(1 for v in done["verdicts"] if v["notes"])
        plan = await self._plan(ref)
        return await self._finish(ref, plan, await self._read_now(ref, plan))

    @activity.defn
    async def read_batch(self, ref: BatchRef) -> ModelBatch:
        """The worker call in one activity, from one plan: the batch read now (no batch id returned), or, when the
        route's model has a batch API and the tenant waits for batches, submitted to it (its id: then
        poll_model_batch and collect_model_batch). submit_model_batch then classify_batch planned the batch twice,
        in some ten transactions, and cost the workflow a round trip more: at 10,000 customers, a large part of the
        worker's CPU per customer (issue 14)."""
        async with self.db.tenant(ref.tenant_id) as conn:
            if await scans.load_model_output(conn, ref.tenant_id, ref.run_date, ref.batch_no, "worker") is not None:
                return ModelBatch()
            wait = await carry_db.batch_wait_seconds(conn)
            submitted = await scans.load_model_output(conn, ref.tenant_id, ref.run_date, ref.batch_no, "worker-batch")
            if submitted and submitted.get("id"):
                return ModelBatch(batch_id=submitted["id"], wait_seconds=wait, poll_seconds=poll_seconds(wait))
            plan = await self._plan_in(conn, ref)
        if wait > 0 and plan.live and uses_batch_api(plan.spec) and isinstance(plan.model, BatchModel):
            live = [c.profile.customer_id for c in plan.live]  # capped and carried customers never enter a batch
            batch_id = await self._submission(
                ref, "worker", plan.spec, plan.model, build_prompt(plan.live), BatchVerdicts, live
            )
            return ModelBatch(batch_id=batch_id, wait_seconds=wait, poll_seconds=poll_seconds(wait))
        await self._finish(ref, plan, await self._read_now(ref, plan))
        return ModelBatch()

    # ---- the worker call through a vendor batch API (llm/batch.py) --------------------------------------------

    @activity.defn
    async def submit_model_batch(self, ref: BatchRef) -> ModelBatch:
        """The live customers' prompt, submitted to the route model's batch API; no batch (read synchronously by
        classify_batch) when the model has none, the tenant turned batches off, or nobody is live."""
        if await self._worker_done(ref) is not None:
            return ModelBatch()
        wait = await self._batch_wait(ref.tenant_id)
        submitted = await self._load(ref, "worker-batch")
        batch_id = submitted.get("id") if submitted else None
        if batch_id is None:
            plan = await self._plan(ref)  # capped and carried customers are not live: they never enter a batch
            if wait <= 0 or not plan.live or not uses_batch_api(plan.spec) or not isinstance(plan.model, BatchModel):
                return ModelBatch()
            live = [c.profile.customer_id for c in plan.live]
            batch_id = await self._submission(
                ref, "worker", plan.spec, plan.model, build_prompt(plan.live), BatchVerdicts, live
            )
        return ModelBatch(batch_id=batch_id, wait_seconds=wait, poll_seconds=poll_seconds(wait))

    async def _batch_wait(self, tenant_id: str) -> int:
        async with self.db.tenant(tenant_id) as conn:
            return await carry_db.batch_wait_seconds(conn)

    async def _submission(
        self,
        ref: BatchRef,
        stage: str,
        spec: str,
        model: BatchModel,
        prompt: tuple[str, str],
        schema: type[BaseModel],
        customers: list[str],
    ) -> str:
        """The id of the batch holding a stage's one request. The intent (our key) is saved before submitting;
        a retry that finds the intent but no id (the worker died after the vendor accepted the batch, before we
        saved its id) looks the batch up by that key instead of submitting, and paying for, a second one."""
        key = batch_key(ref.tenant_id, ref.run_date, ref.batch_no, stage)
        now = dt.datetime.now(dt.UTC).isoformat()
        intent = {"key": key, "custom_id": key, "customers": customers, "since": now, "id": None}
        async with self.db.tenant(ref.tenant_id) as conn:
            held = await batch_rows.intend(
                conn, ref.tenant_id, ref.run_date, ref.batch_no, f"{stage}-batch", spec, intent
            )
            taken = await batch_rows.claimed(conn, ref.run_date - dt.timedelta(days=CLAIMS_KEPT_DAYS))
        if held.get("id"):
            return str(held["id"])
        found = None
        if held["since"] != now:  # an earlier attempt meant to submit: it may have got as far as the vendor
            since = dt.datetime.fromisoformat(held["since"])
            found = await model.find_batch(key, [held["custom_id"]], since, taken)
            activity.logger.warning(
                "batch %s of %s: an earlier attempt's submission %s",
                stage,
                ref.batch_no,
                f"found: {found.batch_id}" if found else "was not made",
            )
        batch_id = found.batch_id if found else await model.submit_batch({held["custom_id"]: prompt}, schema, key=key)
        async with self.db.tenant(ref.tenant_id) as conn:
            await batch_rows.submitted(
                conn,
                ref.tenant_id,
                ref.run_date,
                ref.batch_no,
                f"{stage}-batch",
                batch_id,
                guessed=found is not None and not found.certain,
            )
        return batch_id

    async def _batch_answer(
        self, ref: BatchRef, stage: str, model: BatchModel, batch_id: str, ended: bool, schema: type[T]
    ) -> Completion[T] | str:
        """A stage's answer from its batch, or why there is none; a batch not ended by the deadline is cancelled."""
        held = await self._load(ref, f"{stage}-batch") or {}
        if ended:
            answer = result_for(await model.batch_results(batch_id, schema), held.get("custom_id") or request_id(ref))
        elif held.get("guessed"):  # maybe another submission's batch: left to run, never cancelled by us
            answer = "not ended by the tenant's batch_wait_seconds (a batch found again, not cancelled)"
        else:
            await model.cancel_batch(batch_id)
            answer = "not ended by the tenant's batch_wait_seconds: cancelled"
        if isinstance(answer, str):
            activity.logger.warning(
                "batch %s of %s (%s): %s; asking synchronously", batch_id, ref.batch_no, stage, answer
            )
        return answer

    @activity.defn
    async def poll_model_batch(self, ref: BatchRef, batch_id: str) -> bool:
        model = (await self.model_for(ref.tenant_id, ref.route))[1]
        return isinstance(model, BatchModel) and await model.batch_ended(batch_id)

    @activity.defn
    async def collect_model_batch(self, ref: BatchRef, batch_id: str, ended: bool) -> int:
        """The batch's answer priced at batch rates; a batch not ended by the deadline is cancelled, and then, or
        for a request the batch errored or let expire, the same prompt is sent synchronously."""
        if (done := await self._worker_done(ref)) is not None:
            return sum(1 for v in done["verdicts"] if v["notes"])
        plan = await self._plan(ref)
        if not isinstance(plan.model, BatchModel):  # the tenant changed models meanwhile
            return await self._finish(ref, plan, await self._read_now(ref, plan))
        answer = await self._batch_answer(ref, "worker", plan.model, batch_id, ended, BatchVerdicts)
        if isinstance(answer, str):
            return await self._finish(ref, plan, await self._read_now(ref, plan))
        live = {c.profile.customer_id for c in plan.live}
        await self._charge(
            ref,
            "worker",
            plan.spec,
            sorted(live),
            answer.input_tokens,
            answer.output_tokens,
            (answer.cache_write_tokens, answer.cache_read_tokens),
            batched=True,
        )
        return await self._finish(ref, plan, {r.customer_id: r for r in answer.value.rows if r.customer_id in live})

    async def _read_now(self, ref: BatchRef, plan: Plan) -> dict[str, VerdictRow]:
        """The live customers read by a synchronous call; after repeated failures the offline model finishes."""
        if not plan.live or plan.spec == registry.OFFLINE:
            return {}
        try:
            answer = await plan.model.classify(plan.live)
        except ApplicationError as e:
            if e.non_retryable or activity.info().attempt < FALLBACK_AFTER_ATTEMPTS:
                raise
            for c in plan.live:
                plan.notes[c.profile.customer_id].append(
                    f"{plan.spec} failed {activity.info().attempt} times ({e.message}); offline verdict used"
                )
            return {}
        await self._charge(
            ref,
            "worker",
            plan.spec,
            [c.profile.customer_id for c in plan.live],
            answer.input_tokens,
            answer.output_tokens,
            (answer.cache_write_tokens, answer.cache_read_tokens),
        )
        return {r.customer_id: r for r in answer.verdicts.rows}

    async def _finish(self, ref: BatchRef, plan: Plan, rows: dict[str, VerdictRow]) -> int:
        """Every customer's verdict from the rows read (carried, capped and missing ones filled), saved."""
        verdicts: list[Verdict] = []
        email_settings = plan.email
        notes = plan.notes
        for ctx in plan.contexts:
            cid = ctx.profile.customer_id
            if cid in plan.carried:
                verdicts.append(plan.carried[cid])
                continue
            row = rows.get(cid)
            used = plan.name
            if row is None:
                if plan.live and cid not in plan.capped and plan.spec != registry.OFFLINE and not notes[cid]:
                    notes[cid].append(f"{plan.spec} returned no row for this customer; offline verdict used")
                row, used = verdict_for(ctx), OFFLINE_NAME
            row, demoted, rendered = checked(row, ctx, ref.route, email_settings)
            verdicts.append(
                Verdict(
                    **row.model_dump(),
                    **rendered,
                    breakdown=ctx.breakdown,
                    route=ref.route,
                    model=used,
                    notes=notes[cid] + demoted,
                    fingerprint=plan.prints[cid],
                )
            )
        # Below TIER3 the worker's reading is final. Both in one transaction: a crash between them would leave a
        # batch whose retry returns early with nothing to record.
        await self._save(ref, ["worker"] if ref.route == "TIER3" else ["worker", "final"], plan.name, verdicts)
        return sum(1 for v in verdicts if v.notes)

    async def _carried_in(
        self,
        conn: asyncpg.Connection,
        ref: BatchRef,
        contexts: list[CustomerContext],
        prints: dict[str, str],
        model: str,
    ) -> dict[str, Verdict]:
        """The customers whose evidence is unchanged since a recent enough reading by this model: their verdicts,
        carried forward without a model call (core.carry)."""
        ids = [c.profile.customer_id for c in contexts]
        days = (await carry_db.cost_settings(conn))[0]
        last = await carry_db.last_verdicts(conn, ref.tenant_id, ref.run_date, ids) if days > 0 else {}
        return {
            c.profile.customer_id: carried_verdict(
                last[c.profile.customer_id], prints[c.profile.customer_id], c.bundle, c.breakdown, ref.route
            )
            for c in contexts
            if may_carry(last.get(c.profile.customer_id), prints[c.profile.customer_id], ref.run_date, days, model)
        }

    async def _save(self, ref: BatchRef, stages: list[str], model: str, verdicts: list[Verdict]) -> None:
        out = {"verdicts": [v.model_dump(mode="json") for v in verdicts]}
        async with self.db.tenant(ref.tenant_id) as conn:
            for stage in stages:
                await scans.save_model_output(conn, ref.tenant_id, ref.run_date, ref.batch_no, stage, model, out)

    async def _load(self, ref: BatchRef, stage: str) -> dict[str, Any] | None:
        async with self.db.tenant(ref.tenant_id) as conn:
            return await scans.load_model_output(conn, ref.tenant_id, ref.run_date, ref.batch_no, stage)

    @activity.defn
    async def supervise_batch(self, ref: BatchRef) -> list[str]:
        """A second vendor reads the worker's ten rows as a whole. Returns the customers whose classification it
        disputes (credible flags only: a flag citing evidence the customer lacks is dropped)."""
        saved = await self._load(ref, "supervisor")
        if saved is None:
            review = await self._review(ref)
            done = None
            if review.asks:
                assert isinstance(review.model, StructuredModel)
                done = await review.model.ask(*supervisor_prompt(review.contexts, review.worker), SupervisorReview)
            saved = await self._supervised(ref, review, done)
        return await self._disputed(ref, saved)

    async def _review(self, ref: BatchRef) -> Review:
        worker = [Verdict.model_validate(v) for v in (await self._load(ref, "worker") or {"verdicts": []})["verdicts"]]
        contexts = await self._contexts(ref)
        capped, _, _ = await self._capped(ref, [c.profile.customer_id for c in contexts])
        # The cap covers every call; a verdict carried forward unchanged has no new reading to review.
        skip = capped | {v.customer_id for v in worker if v.carried_from is not None}
        spec, model = await self.model_for(ref.tenant_id, "SUPERVISOR")
        return Review(
            contexts=[c for c in contexts if c.profile.customer_id not in skip],
            worker=[v for v in worker if v.customer_id not in skip],
            capped=capped,
            spec=spec,
            model=model,
        )

    async def _supervised(
        self, ref: BatchRef, review: Review, done: Completion[SupervisorReview] | None, batched: bool = False
    ) -> dict[str, Any]:
        """The supervisor's reading (`done`; None when it was not asked) priced, checked and saved."""
        flags: list[RowFlag] = []
        notes: list[str] = [f"{c}: cost cap reached, not sent to the supervisor" for c in sorted(review.capped)]
        drift = None
        if done is not None:
            flags, notes = credible_flags(done.value, review.contexts)
            drift = done.value.drift_reason if done.value.systematic_drift else None
            await self._charge(
                ref,
                "supervisor",
                review.spec,
                [c.profile.customer_id for c in review.contexts],
                done.input_tokens,
                done.output_tokens,
                (done.cache_write_tokens, done.cache_read_tokens),
                batched=batched,
            )
        elif review.contexts:
            notes.append("no supervisor model configured (or no key for it): the worker's rows stand")
        saved = {
            "model": review.spec,
            "flags": [f.model_dump(mode="json") for f in flags],
            "notes": notes,
            "drift": drift,
        }
        async with self.db.tenant(ref.tenant_id) as conn:
            await scans.save_model_output(
                conn, ref.tenant_id, ref.run_date, ref.batch_no, "supervisor", review.spec, saved
            )
        return saved

    async def _disputed(self, ref: BatchRef, saved: dict[str, Any]) -> list[str]:
        worker_cls = {
            v["customer_id"]: v["classification"]
            for v in (await self._load(ref, "worker") or {"verdicts": []})["verdicts"]
        }
        return [f["customer_id"] for f in saved["flags"] if worker_cls.get(f["customer_id"]) != f["classification"]]

    @activity.defn
    async def tiebreak_row(self, ref: BatchRef, customer_id: str) -> str:
        """A third vendor reads one disputed customer. Returns its classification (or 'none')."""
        stage = f"tiebreaker:{customer_id}"
        if (saved := await self._load(ref, stage)) is not None:
            return str(saved.get("classification", "none"))
        tb = await self._tiebreak(ref, customer_id)
        done = None
        if tb.asks:
            assert isinstance(tb.model, StructuredModel)
            done = await tb.model.ask(*tiebreaker_prompt(tb.ctx, tb.worker, tb.flag), BatchVerdicts)
        return await self._tiebroken(ref, customer_id, tb, done)

    async def _tiebreak(self, ref: BatchRef, customer_id: str) -> Tiebreak:
        worker = {
            v["customer_id"]: VerdictRow.model_validate(v)
            for v in (await self._load(ref, "worker") or {"verdicts": []})["verdicts"]
        }
        flag = next(
            RowFlag.model_validate(f)
            for f in (await self._load(ref, "supervisor") or {})["flags"]
            if f["customer_id"] == customer_id
        )
        ctx = next(c for c in await self._contexts(ref) if c.profile.customer_id == customer_id)
        spec, model = await self.model_for(ref.tenant_id, "TIEBREAKER")
        capped, _, _ = await self._capped(ref, [customer_id])
        return Tiebreak(ctx, worker[customer_id], flag, spec, model, bool(capped))

    async def _tiebroken(
        self,
        ref: BatchRef,
        customer_id: str,
        tb: Tiebreak,
        done: Completion[BatchVerdicts] | None,
        batched: bool = False,
    ) -> str:
        """The tiebreaker's reading (`done`; None when it was not asked) checked, priced and saved."""
        stage = f"tiebreaker:{customer_id}"
        out: dict[str, Any] = {"model": tb.spec, "classification": "none"}
        if done is not None:
            row = next((r for r in done.value.rows if r.customer_id == customer_id), None)
            if row is not None:
                row, notes, _ = checked(row, tb.ctx, ref.route, await self._email_settings(ref.tenant_id))
                out = {
                    "model": tb.spec,
                    "classification": row.classification,
                    "row": row.model_dump(mode="json"),
                    "notes": notes,
                }
            await self._charge(
                ref,
                stage,
                tb.spec,
                [customer_id],
                done.input_tokens,
                done.output_tokens,
                (done.cache_write_tokens, done.cache_read_tokens),
                batched=batched,
            )
        async with self.db.tenant(ref.tenant_id) as conn:
            await scans.save_model_output(conn, ref.tenant_id, ref.run_date, ref.batch_no, stage, tb.spec, out)
        return str(out["classification"])

    # ---- the supervisor and the tiebreaker through a vendor batch API (llm/batch.py) ---------------------------

    @activity.defn
    async def submit_review_batch(self, ref: BatchRef, stage: str) -> ModelBatch:
        """The supervisor's ("supervisor") or one tiebreak's ("tiebreaker:<customer>") prompt, submitted to its
        model's batch API; no batch (asked synchronously) when the model has none, batches are off, the stage
        is done, or nobody is to be asked (capped customers never enter a batch)."""
        held = await self._load(ref, f"{stage}-batch")
        wait = await self._batch_wait(ref.tenant_id)
        if held and held.get("id"):
            return ModelBatch(batch_id=held["id"], wait_seconds=wait, poll_seconds=poll_seconds(wait))
        if wait <= 0 or await self._load(ref, stage) is not None:
            return ModelBatch()
        schema: type[BaseModel]
        if stage == "supervisor":
            review = await self._review(ref)
            spec, model, asks, schema = review.spec, review.model, review.asks, SupervisorReview
            customers = [c.profile.customer_id for c in review.contexts]
            prompt = supervisor_prompt(review.contexts, review.worker) if asks else ("", "")
        else:
            tb = await self._tiebreak(ref, stage.split(":", 1)[1])
            spec, model, asks, schema = tb.spec, tb.model, tb.asks, BatchVerdicts
            customers = [tb.ctx.profile.customer_id]
            prompt = tiebreaker_prompt(tb.ctx, tb.worker, tb.flag)
        if not asks or not uses_batch_api(spec) or not isinstance(model, BatchModel):
            return ModelBatch()
        batch_id = await self._submission(ref, stage, spec, model, prompt, schema, customers)
        return ModelBatch(batch_id=batch_id, wait_seconds=wait, poll_seconds=poll_seconds(wait))

    @activity.defn
    async def poll_review_batch(self, ref: BatchRef, stage: str, batch_id: str) -> bool:
        model = (await self.model_for(ref.tenant_id, "SUPERVISOR" if stage == "supervisor" else "TIEBREAKER"))[1]
        return isinstance(model, BatchModel) and await model.batch_ended(batch_id)

    @activity.defn
    async def collect_supervisor_batch(self, ref: BatchRef, batch_id: str, ended: bool) -> list[str]:
        """The supervisor's batch answer at batch rates; cancelled at the deadline, and then, or when the batch
        did not answer, the supervisor is asked synchronously."""
        saved = await self._load(ref, "supervisor")
        if saved is None:
            review = await self._review(ref)
            if not isinstance(review.model, BatchModel) or not review.asks:  # the tenant changed models meanwhile
                return await self.supervise_batch(ref)
            answer = await self._batch_answer(ref, "supervisor", review.model, batch_id, ended, SupervisorReview)
            if isinstance(answer, str):
                return await self.supervise_batch(ref)
            saved = await self._supervised(ref, review, answer, batched=True)
        return await self._disputed(ref, saved)

    @activity.defn
    async def collect_tiebreak_batch(self, ref: BatchRef, customer_id: str, batch_id: str, ended: bool) -> str:
        """One tiebreak's batch answer at batch rates; as collect_supervisor_batch when there is none."""
        stage = f"tiebreaker:{customer_id}"
        if (saved := await self._load(ref, stage)) is not None:
            return str(saved.get("classification", "none"))
        tb = await self._tiebreak(ref, customer_id)
        if not isinstance(tb.model, BatchModel) or not tb.asks:
            return await self.tiebreak_row(ref, customer_id)
        answer = await self._batch_answer(ref, stage, tb.model, batch_id, ended, BatchVerdicts)
        if isinstance(answer, str):
            return await self.tiebreak_row(ref, customer_id)
        return await self._tiebroken(ref, customer_id, tb, answer, batched=True)

    @activity.defn
    async def resolve_batch(self, ref: BatchRef) -> int:
        """Two of three agree → that verdict; all three differ → the worker's, flagged for a human. Every
        disputed row's three readings go to the audit log. Returns how many rows need a human."""
        worker = [Verdict.model_validate(v) for v in (await self._load(ref, "worker") or {"verdicts": []})["verdicts"]]
        sup = await self._load(ref, "supervisor") or {"flags": [], "notes": [], "drift": None}
        flags = {f["customer_id"]: RowFlag.model_validate(f) for f in sup["flags"]}
        contexts = {c.profile.customer_id: c for c in await self._contexts(ref)}
        email_settings = await self._email_settings(ref.tenant_id)
        final: list[Verdict] = []
        audits: list[tuple[str, dict[str, Any]]] = []
        for v in worker:
            if v.carried_from is not None:  # carried forward, not reviewed: recorded as it is
                final.append(v)
                continue
            flag = flags.get(v.customer_id)
            tb = await self._load(ref, f"tiebreaker:{v.customer_id}") if flag else None
            tb_row = VerdictRow.model_validate(tb["row"]) if tb and tb.get("row") else None
            chosen, needs_human, audit = resolve(VerdictRow.model_validate(v.model_dump()), flag, tb_row)
            chosen, demoted, rendered = checked(chosen, contexts[v.customer_id], ref.route, email_settings)
            notes = v.notes + demoted + ([f"supervisor: {sup['drift']}"] if sup.get("drift") else [])
            if flag:
                notes.append(f"TIER3 review: {audit['outcome']}, chosen {audit['chosen']} ({audit['votes']})")
                audits.append((v.customer_id, audit))
            final.append(
                Verdict(
                    **(
                        v.model_dump()
                        | chosen.model_dump()
                        | rendered
                        | {"notes": list(dict.fromkeys(notes)), "needs_review": needs_human}
                    )
                )
            )
        await self._save(ref, ["final"], "tier3-resolved", final)
        if audits:
            async with self.db.tenant(ref.tenant_id) as conn:
                for cid, audit in audits:
                    await tenants.audit(
                        conn,
                        ref.tenant_id,
                        "tier3",
                        "verdict.disputed",
                        cid,
                        {"run_date": ref.run_date.isoformat(), **audit},
                    )
        return sum(1 for v in final if v.needs_review)

    @activity.defn
    async def record_batch(self, ref: BatchRef) -> BatchResult:
        """Diary, classification, drafts and audit for a batch, in one transaction: all or nothing."""
        return await record(self.db, ref)


async def record(db: Database, ref: BatchRef) -> BatchResult:
    """record_batch's work, shared with ScanActivities.record_and_approve (which starts the drafts' approvals
    in the same activity)."""
    async with db.tenant(ref.tenant_id) as conn:
        loaded = await scans.load_verdicts(conn, ref.tenant_id, ref.run_date, ref.batch_no, "final")
        if loaded is None:
            raise ApplicationError(
                f"batch {ref.batch_no} has no classification to record", type="NoOutput", non_retryable=True
            )
        verdicts = loaded
        profiles = {
            p.customer_id: p for p in await scans.batch_profiles(conn, ref.tenant_id, ref.run_date, ref.batch_no)
        }
        # What changed (a diary clause) and the operator overrides: lapsed, or deciding the drafts (issue 18).
        verdicts, lapsed = await overrides.before_record(conn, ref.tenant_id, ref.run_date, verdicts)
        drafts = await scans.record_verdicts(conn, ref.tenant_id, ref.run_date, verdicts, profiles)
    await lapsed.send()  # to the operators who set them, on the on-call webhook, after the commit
    # On-call hears of a validation-failure crossing as the batch that caused it lands, not at the next page
    # load. Its own transaction: the alert-state row lock is not held across the batch's writes.
    async with db.tenant(ref.tenant_id) as conn:
        notices = await oncall.evaluate(conn, ref.tenant_id)
    await notices.send()
    return BatchResult(
        batch_no=ref.batch_no,
        route=ref.route,
        classified=len(verdicts),
        demoted=sum(1 for v in verdicts if v.abstain_reason == "source_validation_failed"),
        drafts=drafts,
    )
