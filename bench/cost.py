"""Cost benchmark: what the default models would charge to read N customers a day, from the real prompts.

    python -m bench.cost --customers 2000 --mix 0.7,0.25,0.05
        [--flagged 0.2] [--reasoning-tokens 0] [--seed 3]

Builds the prompts the adapters send for synthetic customers of realistic size (the fabrication corpus's
bundles, three previous diary paragraphs of the offline model's length), counts their tokens with LiteLLM's
counter (plus the answer schema, which every vendor bills as input), takes the offline model's answer as the
size of a model's answer, and prices each call from LiteLLM's table. TIER3 is the worker, plus the supervisor
on every batch, plus the tiebreaker on the flagged share of rows. Every due customer is read every day, so a
month is 30 days."""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass, field

from llm.base import CustomerContext, PreviousEntry
from llm.offline import verdict_for
from llm.pricing import list_price_per_million, price_usd
from llm.prompt import MAX_BATCH, build_prompt, count_tokens
from llm.registry import SUPERVISOR, TIEBREAKER, WORKER_BY_ROUTE, parse_spec
from llm.supervisor import RowFlag, SupervisorReview, supervisor_prompt, tiebreaker_prompt
from schemas.verdict import BatchVerdicts, Classification, VerdictRow
from tests.fabrication import RUN, customer

SCHEMAS = {
    "verdicts": json.dumps(BatchVerdicts.model_json_schema()),
    "review": json.dumps(SupervisorReview.model_json_schema()),
}


@dataclass
class Tally:
    customers: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float = 0.0

    def charge(self, spec: str, system: str, user: str, schema: str, answer: str, extra_out: int = 0) -> None:
        model = parse_spec(spec)[1]
        tin = count_tokens(system + user + schema, model)
        tout = count_tokens(answer, model) + extra_out
        self.calls[spec] = self.calls.get(spec, 0) + 1
        self.tokens_in, self.tokens_out = self.tokens_in + tin, self.tokens_out + tout
        self.usd += price_usd(spec, tin, tout)


def realistic(ctx: CustomerContext) -> CustomerContext:
    """The customer with three previous diary paragraphs as long as the ones the system really writes."""
    paragraph = verdict_for(ctx).diary
    previous = [
        PreviousEntry(run_date=e.run_date, classification=e.classification, severity=e.severity, paragraph=paragraph)
        for e in ctx.previous
    ]
    return ctx.model_copy(update={"previous": previous})


def a_flag(ctx: CustomerContext, row: VerdictRow) -> RowFlag:
    """A supervisor's flag of typical length: a different reading, two sentences, two citations."""
    other: Classification = "likely_churn" if row.classification != "likely_churn" else "at_risk"
    ids = sorted(ctx.bundle.source_ids())[:2]
    return RowFlag(
        customer_id=row.customer_id,
        classification=other,
        severity="HIGH",
        cited_source_ids=ids,
        reason="The usage drop and the late invoice together outweigh the positive champion "
        "message. The worker's reading gives the payment history too little weight for an "
        "account this size.",
    )


def run(customers: int, mix: list[float], flagged: float, reasoning: int, seed: int) -> dict[str, Tally]:
    rng = random.Random(seed)
    people = [realistic(customer(rng, i)) for i in range(customers)]
    counts = [round(customers * m) for m in mix[:2]]
    routes = ["TIER1"] * counts[0] + ["TIER2"] * counts[1] + ["TIER3"] * (customers - sum(counts))
    tallies = {r: Tally() for r in ("TIER1", "TIER2", "TIER3")}
    for route in tallies:
        members = [p for p, r in zip(people, routes, strict=True) if r == route]
        tally = tallies[route]
        tally.customers = len(members)
        for start in range(0, len(members), MAX_BATCH):
            batch = members[start : start + MAX_BATCH]
            rows = [verdict_for(c) for c in batch]
            answer = BatchVerdicts(rows=rows).model_dump_json(exclude_none=True)
            tally.charge(WORKER_BY_ROUTE[route], *build_prompt(batch), SCHEMAS["verdicts"], answer)
            if route != "TIER3":
                continue
            flags = [a_flag(c, r) for c, r in zip(batch, rows, strict=True)][: round(len(batch) * flagged)]
            review = SupervisorReview(flagged=flags).model_dump_json(exclude_none=True)
            tally.charge(SUPERVISOR, *supervisor_prompt(batch, rows), SCHEMAS["review"], review, reasoning)
            for flag in flags:
                i = next(k for k, c in enumerate(batch) if c.profile.customer_id == flag.customer_id)
                one = BatchVerdicts(rows=[rows[i]]).model_dump_json(exclude_none=True)
                tally.charge(
                    TIEBREAKER, *tiebreaker_prompt(batch[i], rows[i], flag), SCHEMAS["verdicts"], one, reasoning
                )
    return tallies


def report(tallies: dict[str, Tally], customers: int, flagged: float, reasoning: int) -> None:
    print(
        f"{customers} customers read on {RUN.isoformat()}; TIER3 flagged share {flagged:.0%}; "
        f"reasoning tokens per supervisor/tiebreaker call: {reasoning}\n"
    )
    for spec in sorted({*WORKER_BY_ROUTE.values(), SUPERVISOR, TIEBREAKER}):
        pin, pout = list_price_per_million(spec)
        print(f"  {spec:<32} ${pin:g} in / ${pout:g} out per million tokens")
    print(
        f"\n{'route':<7}{'customers':>10}{'calls':>7}{'in tok/cust':>13}{'out tok/cust':>14}"
        f"{'$/cust/day':>12}{'$/cust/month':>14}"
    )
    total = 0.0
    for route, t in tallies.items():
        n = max(t.customers, 1)
        total += t.usd
        print(
            f"{route:<7}{t.customers:>10}{sum(t.calls.values()):>7}{t.tokens_in / n:>13,.0f}"
            f"{t.tokens_out / n:>14,.0f}{t.usd / n:>12.5f}{t.usd / n * 30:>14.4f}"
        )
    print(
        f"\nall    {customers:>10}  ${total / customers:.5f} per customer per day, "
        f"${total / customers * 30:.4f} per customer per month"
    )
    print(
        f"       the whole book: ${total:,.2f} per day, ${total * 30:,.2f} per month "
        f"(offline model: $0; cost-capped customers finish there)"
    )
    print(
        "\nThe answer sizes are the offline model's; a vendor model writing longer diaries or emails costs"
        "\nmore, and reasoning models bill their hidden reasoning as output (see --reasoning-tokens)."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--mix", default="0.7,0.25,0.05", help="TIER1,TIER2,TIER3 shares, summing to 1")
    parser.add_argument("--flagged", type=float, default=0.2, help="share of TIER3 rows the supervisor flags")
    parser.add_argument(
        "--reasoning-tokens",
        type=int,
        default=0,
        help="hidden reasoning tokens billed per supervisor and tiebreaker call",
    )
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    shares = [float(x) for x in args.mix.split(",")]
    if len(shares) != 3 or abs(sum(shares) - 1) > 1e-6 or min(shares) < 0:
        parser.error("--mix takes three non-negative shares summing to 1, e.g. 0.7,0.25,0.05")
    t0 = time.perf_counter()
    result = run(args.customers, shares, args.flagged, args.reasoning_tokens, args.seed)
    report(result, args.customers, args.flagged, args.reasoning_tokens)
    print(f"\n({time.perf_counter() - t0:.1f}s)")
