"""What changed since a customer's previous run: evidence items added, gone or changed (with the facts that moved),
factors whose contribution moved, and the previous verdict. Pure: the caller reads the two runs from the database.

Items are matched on (source id, kind): one real object can carry several signals, each compared on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core import facts, render
from core.blocks import escape, section
from core.freshness import LATEST_WORD
from schemas.changes import EvidenceChange, FactMove, FactorMove, PreviousVerdict, RunChanges
from schemas.evidence import EvidenceItem, FactValue
from schemas.verdict import FactorBreakdown

MOVED = 0.005  # a contribution that moved less than this has not moved (rounding of the stored math)


@dataclass(frozen=True)
class Run:
    """A recorded run of one customer, as db.changes reads it."""

    run_date: dt.date
    classification: str
    severity: str
    items: Sequence[EvidenceItem] = ()
    breakdown: FactorBreakdown | None = None
    notes: Sequence[str] = field(default_factory=tuple)


def _keyed(items: Iterable[EvidenceItem]) -> dict[tuple[str, str], EvidenceItem]:
    return {(i.source_id, i.kind): i for i in items}


def fact_moves(old: EvidenceItem, new: EvidenceItem) -> list[FactMove]:
    """The facts that moved, but not the Slack freshness clock: the customer speaking again moves it on every
    older message of the channel, and the messages themselves did not change."""
    keys = sorted((set(old.facts) | set(new.facts)) - {LATEST_WORD})
    return [
        FactMove(fact=k, old=old.facts.get(k), new=new.facts.get(k))
        for k in keys
        if old.facts.get(k) != new.facts.get(k)
    ]


def evidence_changes(old: Iterable[EvidenceItem], new: Iterable[EvidenceItem]) -> list[EvidenceChange]:
    before, after = _keyed(old), _keyed(new)
    out: list[EvidenceChange] = []
    for key in sorted(after.keys() - before.keys()):
        i = after[key]
        out.append(EvidenceChange(change="added", source_id=i.source_id, kind=i.kind, summary=i.summary))
    for key in sorted(before.keys() - after.keys()):
        i = before[key]
        out.append(EvidenceChange(change="gone", source_id=i.source_id, kind=i.kind, summary=i.summary))
    for key in sorted(before.keys() & after.keys()):
        moves = fact_moves(before[key], after[key])
        if moves or before[key].signal != after[key].signal:
            i = after[key]
            out.append(
                EvidenceChange(change="changed", source_id=i.source_id, kind=i.kind, summary=i.summary, facts=moves)
            )
    return out


def factor_moves(old: FactorBreakdown | None, new: FactorBreakdown | None) -> list[FactorMove]:
    """Each factor whose contribution moved, largest move first. With no previous math every factor moved from 0."""
    if new is None:
        return []
    was = {f.factor: f.contribution for f in old.factors} if old else {}
    moves = [
        FactorMove(
            factor=f.factor,
            old=round(was.get(f.factor, 0.0), 4),
            new=round(f.contribution, 4),
            delta=round(f.contribution - was.get(f.factor, 0.0), 4),
        )
        for f in new.factors
    ]
    return sorted((m for m in moves if abs(m.delta) >= MOVED), key=lambda m: (-abs(m.delta), m.factor))


def _fact_text(key: str, value: FactValue, run_date: dt.date) -> str:
    """A fact as the renderer writes it for a person (its unit word is the renderer's), or as stored."""
    if value is None:
        return "none"
    try:
        return render.human(key, value, run_date) if key in facts.FIELDS else str(value)
    except ValueError:
        return str(value)


def summary(c: RunChanges) -> str:
    """The changes in one short clause, written by code from the typed changes (no model types these figures)."""
    if c.previous is None:
        return "First run for this customer."
    parts: list[str] = []
    counts = {k: sum(1 for e in c.evidence if e.change == k) for k in ("added", "gone", "changed")}
    items = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    parts.append(f"evidence {items}" if items else "no evidence changed")
    moved = next((e for e in c.evidence if e.change == "changed" and e.facts), None)
    if moved:
        m = moved.facts[0]
        old, new = _fact_text(m.fact, m.old, c.run_date), _fact_text(m.fact, m.new, c.run_date)
        parts.append(f"{m.fact.replace('_', ' ')} {old} → {new}")
    if c.factors:
        top = c.factors[0]
        parts.append(f"{top.factor.replace('_', ' ')} {top.delta:+.2f}")
    was = c.previous.classification.replace("_", " ")
    verdict = "verdict unchanged" if c.previous.classification == c.classification else f"was {was}"
    return f"Since {c.previous.run_date.isoformat()}: " + "; ".join(parts) + f"; {verdict}."


def changes(run: Run, previous: Run | None) -> RunChanges:
    out = RunChanges(
        run_date=run.run_date,
        classification=run.classification,  # type: ignore[arg-type]
        severity=run.severity,  # type: ignore[arg-type]
        previous=(
            PreviousVerdict(
                run_date=previous.run_date,
                classification=previous.classification,  # type: ignore[arg-type]
                severity=previous.severity,  # type: ignore[arg-type]
            )
            if previous
            else None
        ),
        evidence=evidence_changes(previous.items if previous else (), run.items),
        factors=factor_moves(previous.breakdown if previous else None, run.breakdown),
        total_delta=round(
            (run.breakdown.total if run.breakdown else 0.0)
            - (previous.breakdown.total if previous and previous.breakdown else 0.0),
            4,
        )
        if previous
        else 0.0,
    )
    out.summary = summary(out)
    return out


def history(runs: Sequence[Run]) -> list[RunChanges]:
    """Each run against the one before it, newest first; `runs` oldest first (the first has no previous unless the
    caller passes one more run than it wants shown, and drops the first answer)."""
    out = [changes(r, runs[i - 1] if i else None) for i, r in enumerate(runs)]
    return out[::-1]


def movement(c: RunChanges) -> float:
    """How much a customer moved since its previous run: the briefing's top movers are the largest."""
    if c.previous is None:
        return 0.0
    return abs(c.total_delta) + (1.0 if c.previous.classification != c.classification else 0.0)


def top_movers(named: dict[str, tuple[str, RunChanges]], top: int = 5) -> list[dict[str, object]]:
    """The briefing's top movers: customer id -> (name, its run's changes), the largest movement first."""
    moved = [(movement(c), cid, name, c) for cid, (name, c) in named.items() if movement(c) > 0]
    moved.sort(key=lambda m: (-m[0], m[1]))
    return [
        {"customer_id": cid, "name": name, "classification": c.classification, "summary": c.summary}
        for _, cid, name, c in moved[:top]
    ]


def movers_text(movers: list[dict[str, object]]) -> str:
    if not movers:
        return ""
    return (
        "\n".join(["", "Top movers since their previous run:"] + [f"  - {m['name']}: {m['summary']}" for m in movers])
        + "\n"
    )


def movers_blocks(movers: list[dict[str, object]]) -> list[dict[str, object]]:
    if not movers:
        return []
    lines = "\n".join(
        f"• *{escape(str(m['name']))}* ({m['classification']}): {escape(str(m['summary']))}" for m in movers
    )
    return [section(f"*Top movers since their previous run*\n{lines}")]
