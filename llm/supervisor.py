"""TIER3's second and third opinions, as pure helpers: what the supervisor and the tiebreaker are asked, what
they answer, and how the three readings become one verdict.

The flow (run by the TIER3 workflows): a worker model classifies the batch; a model from a second vendor reads
the ten rows as a whole and flags the rows it disagrees with; for each flagged row a third vendor gives its
own reading; `resolve` takes two of three, and when all three differ keeps the worker's verdict for a human to
decide."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from llm.base import CustomerContext
from llm.prompt import CUSTOMERS_MARKER, MAX_BATCH, SYSTEM, ModelAnswerError, context_payload
from schemas.verdict import Classification, Severity, VerdictRow

SEVERITY_RANK: dict[str, int] = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}
REVIEW_MARKER = "Customers and the rows to review, as JSON:\n"


class RowFlag(BaseModel):
    """One row the supervisor disagrees with, and the reading it would give instead."""

    customer_id: str
    classification: Classification
    severity: Severity
    reason: str = Field(min_length=1, max_length=1000)
    # From that customer's own evidence, like any claim.
    cited_source_ids: list[str] = Field(default_factory=list)


class SupervisorReview(BaseModel):
    flagged: list[RowFlag] = Field(default_factory=list)
    # One pattern of error across the batch (every late invoice read as churn, say) is worth an operator's
    # look even when each row alone would pass.
    systematic_drift: bool = False
    drift_reason: str | None = None


SUPERVISOR_SYSTEM = """You are an independent second reviewer of renewal verdicts written by another model. \
For each customer you see its evidence, its factor math and the row the other model wrote.

Flag a row only when its classification or severity is not supported by that customer's own evidence. For \
each flagged row give the classification and severity you would give, the reason in one or two sentences, \
and the source_ids behind your reading, copied exactly from that customer's evidence (never another \
customer's, never invented). Do not list rows you agree with. Set systematic_drift to true only if many rows \
share one pattern of error, and say which in drift_reason. Answer only with JSON matching the schema you are \
given."""

TIEBREAKER_SYSTEM = (
    SYSTEM
    + """

Two earlier readings of this one customer disagree; both are shown. Read the evidence yourself and give \
your own row under the rules above. You may agree with either reading or with neither."""
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _run_dates(batch: Sequence[CustomerContext]) -> str:
    return ", ".join(sorted({c.bundle.run_date.isoformat() for c in batch}))


def supervisor_prompt(batch: Sequence[CustomerContext], rows: Sequence[VerdictRow]) -> tuple[str, str]:
    """(system, user) for the supervisor: the whole batch at once, so drift across rows can show."""
    if not 1 <= len(batch) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} customers, got {len(batch)}")
    by_id = {r.customer_id: r for r in rows}
    items = [
        {
            "customer": context_payload(c),
            "row": by_id[c.profile.customer_id].model_dump(mode="json", exclude_none=True)
            if c.profile.customer_id in by_id
            else None,
        }
        for c in batch
    ]
    user = f"Run date: {_run_dates(batch)}. {len(batch)} customer(s).\n" + REVIEW_MARKER + _dumps(items)
    return SUPERVISOR_SYSTEM, user


def tiebreaker_prompt(ctx: CustomerContext, worker: VerdictRow, flag: RowFlag) -> tuple[str, str]:
    """(system, user) for the tiebreaker, answered as BatchVerdicts with one row so the usual checks apply.
    The readings are labelled A and B, not by vendor, so no vendor's name sways the third."""
    readings = {
        "A": {"classification": worker.classification, "severity": worker.severity, "why": worker.diary},
        "B": {"classification": flag.classification, "severity": flag.severity, "why": flag.reason},
    }
    user = (
        f"Run date: {_run_dates([ctx])}. 1 customer(s).\n"
        f"Earlier readings, as JSON:\n{_dumps(readings)}\n" + CUSTOMERS_MARKER + _dumps([context_payload(ctx)])
    )
    return TIEBREAKER_SYSTEM, user


def credible_flags(review: SupervisorReview, batch: Sequence[CustomerContext]) -> tuple[list[RowFlag], list[str]]:
    """The flags that may go on to a tiebreaker, and notes on the ones that may not. The supervisor is held to
    the same rule as the worker: a flag about a customer outside the batch, or citing evidence the customer
    does not have, is dropped rather than trusted."""
    bundles = {c.profile.customer_id: c.bundle for c in batch}
    kept: list[RowFlag] = []
    notes: list[str] = []
    for flag in review.flagged:
        bundle = bundles.get(flag.customer_id)
        if bundle is None:
            notes.append(f"supervisor flag dropped: {flag.customer_id} is not in this batch")
            continue
        unknown = sorted(set(flag.cited_source_ids) - bundle.source_ids())
        if unknown:
            notes.append(
                f"supervisor flag on {flag.customer_id} dropped: cited {', '.join(unknown)}, "
                f"not in this customer's evidence"
            )
            continue
        kept.append(flag)
    if len({f.customer_id for f in kept}) != len(kept):
        raise ModelAnswerError("the supervisor flagged a customer more than once")
    return kept, notes


def resolve(
    worker: VerdictRow, supervisor_alt: RowFlag | None, tiebreaker: VerdictRow | None
) -> tuple[VerdictRow, bool, dict[str, Any]]:
    """(the verdict to keep, whether a human must decide, an audit record).

    Votes are on classification. No flag: the worker's row stands. Two of three agree: the agreed
    classification, carried by the worker's row when the worker is among them, else by the tiebreaker's (the
    supervisor gives a flag, not a whole row); severity is the highest the agreeing readings gave, because at
    these stakes under-reacting costs more than a second look. No two agree (or the flag has no tiebreak): the
    worker's row, unchanged, for a human."""
    for other in (supervisor_alt, tiebreaker):
        if other is not None and other.customer_id != worker.customer_id:
            raise ValueError(f"readings of {other.customer_id} and {worker.customer_id} cannot be resolved together")
    votes: dict[str, tuple[str, str]] = {"worker": (worker.classification, worker.severity)}
    if supervisor_alt is not None:
        votes["supervisor"] = (supervisor_alt.classification, supervisor_alt.severity)
    if tiebreaker is not None:
        votes["tiebreaker"] = (tiebreaker.classification, tiebreaker.severity)
    audit: dict[str, Any] = {
        "votes": {who: f"{c}/{s}" for who, (c, s) in votes.items()},
        "supervisor_reason": supervisor_alt.reason if supervisor_alt else None,
    }
    if supervisor_alt is None:
        return worker, False, {**audit, "outcome": "unflagged", "chosen": "worker", "agreeing": ["worker"]}
    top, count = Counter(c for c, _ in votes.values()).most_common(1)[0]
    if count < 2:
        return worker, True, {**audit, "outcome": "split", "chosen": "worker", "agreeing": []}
    agreeing = [who for who, (c, _) in votes.items() if c == top]
    # When the worker is not among the agreeing, the other two are, so the tiebreaker is there.
    chosen = worker if "worker" in agreeing or tiebreaker is None else tiebreaker
    chosen_name = "worker" if chosen is worker else "tiebreaker"
    severity = max((votes[who][1] for who in agreeing), key=SEVERITY_RANK.__getitem__)
    if severity != chosen.severity:
        chosen = chosen.model_copy(update={"severity": severity})
    return (
        chosen,
        False,
        {
            **audit,
            "outcome": "agreed",
            "chosen": chosen_name,
            "agreeing": agreeing,
            "classification": top,
            "severity": severity,
        },
    )
