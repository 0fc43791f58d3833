"""Cost benchmark: what the default models charge to read N customers a day, over a month, from the real prompts.

    python -m bench.cost --customers 2000 --mix 0.7,0.25,0.05
        [--changed 0.2] [--carry-days 7] [--days 30] [--flagged 0.2] [--reasoning-tokens 0] [--seed 3]

Builds the prompts the adapters send for synthetic customers of realistic size (the fabrication corpus's bundles,
three previous diary paragraphs of the offline model's length), counts their tokens with LiteLLM's counter (plus
the answer schema, which every vendor bills as input), takes the offline model's answer as the size of a model's
answer, and prices each call from LiteLLM's table. TIER3 is the worker, plus the supervisor on every batch, plus
the tiebreaker on the flagged share of rows.

What the product does, priced as it does it:
- Day one reads every customer. From day two, each day a `--changed` share of the book has new evidence; the rest
  is carried forward without a model call (core/carry.py) until its reading is `--carry-days` old. Carried
  customers are batched apart, so the batches a model reads stay full.
- Prompt caching (llm/cache.py): the instructions and the schema are the prompt's stable prefix; it is cached only
  where it reaches the model's published minimum (Haiku 4.5's is 4096 tokens, which our ~1,500-token prefix does
  not reach: TIER1 gets no cache). Per model and prompt, the day's first call writes it (Anthropic) or misses; the
  later calls read it. Calls through a vendor batch API (every default model has one: Anthropic, OpenAI, Gemini)
  are priced at the table's batch prices, without a cache read.
- The route of each customer is fixed by --mix; the cost cap is not reached at these prices.

The last line is one JSON object: usd_per_customer_day (day_one, day_two, avg_30_day), by_route, batch_share,
cache_read_tokens_share."""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from llm.base import CustomerContext, PreviousEntry
from llm.batch import uses_batch_api
from llm.cache import cached_prefix
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
ROUTES = ("TIER1", "TIER2", "TIER3")


@dataclass
class Tally:
    """One route's calls over the whole simulation, and per day."""

    customers: int = 0
    calls: int = 0
    batched_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cache_read: int = 0
    cache_write: int = 0
    usd: float = 0.0
    usd_by_day: dict[int, float] = field(default_factory=dict)
    read_by_day: dict[int, int] = field(default_factory=dict)  # customers a model read that day


class Day:
    """The prompt-cache state of one day: which (model, prompt family) prefixes have been written today."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.warm: set[tuple[str, str]] = set()


def charge(
    tally: Tally, day: Day, spec: str, family: str, system: str, user: str, schema: str, answer: str, extra_out: int = 0
) -> None:
    model = parse_spec(spec)[1]
    prefix = count_tokens(system + schema, model)
    tin = prefix + count_tokens(user, model)
    tout = count_tokens(answer, model) + extra_out
    batched = uses_batch_api(spec)
    # No cache credit in a batch: Anthropic's batch requests carry no cache marker (llm/batch.py), and a cache hit
    # inside OpenAI's or Gemini's batches is best-effort, so it is not counted on.
    cached = 0 if batched else cached_prefix(spec, prefix)
    write = read = 0
    if cached:
        if (spec, family) in day.warm:
            read = cached
        elif parse_spec(spec)[0] == "anthropic":
            write = cached  # OpenAI and Gemini cache on their own and bill no write
        day.warm.add((spec, family))
    usd = price_usd(spec, tin, tout, cache_write=write, cache_read=read, batched=batched)
    tally.calls += 1
    tally.batched_calls += batched
    tally.tokens_in += tin
    tally.tokens_out += tout
    tally.cache_read += read
    tally.cache_write += write
    tally.usd += usd
    tally.usd_by_day[day.n] = tally.usd_by_day.get(day.n, 0.0) + usd


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


def read_route(
    route: str, members: Sequence[CustomerContext], tally: Tally, day: Day, flagged: float, reasoning: int
) -> None:
    """The calls the product makes for the customers of one route a model reads today, in full batches."""
    for start in range(0, len(members), MAX_BATCH):
        batch = list(members[start : start + MAX_BATCH])
        rows = [verdict_for(c) for c in batch]
        answer = BatchVerdicts(rows=rows).model_dump_json(exclude_none=True)
        charge(tally, day, WORKER_BY_ROUTE[route], "worker", *build_prompt(batch), SCHEMAS["verdicts"], answer)
        if route != "TIER3":
            continue
        flags = [a_flag(c, r) for c, r in zip(batch, rows, strict=True)][: round(len(batch) * flagged)]
        review = SupervisorReview(flagged=flags).model_dump_json(exclude_none=True)
        prompt = supervisor_prompt(batch, rows)
        charge(tally, day, SUPERVISOR, "supervisor", *prompt, SCHEMAS["review"], review, reasoning)
        for flag in flags:
            i = next(k for k, c in enumerate(batch) if c.profile.customer_id == flag.customer_id)
            one = BatchVerdicts(rows=[rows[i]]).model_dump_json(exclude_none=True)
            prompt = tiebreaker_prompt(batch[i], rows[i], flag)
            charge(tally, day, TIEBREAKER, "tiebreaker", *prompt, SCHEMAS["verdicts"], one, reasoning)


def run(
    customers: int,
    mix: list[float],
    *,
    changed: float,
    carry_days: int,
    days: int,
    flagged: float,
    reasoning: int,
    seed: int,
) -> dict[str, Tally]:
    rng = random.Random(seed)
    people = [realistic(customer(rng, i)) for i in range(customers)]
    counts = [round(customers * m) for m in mix[:2]]
    routes = ["TIER1"] * counts[0] + ["TIER2"] * counts[1] + ["TIER3"] * (customers - sum(counts))
    tallies = {r: Tally(customers=routes.count(r)) for r in ROUTES}
    last_read: list[int] = [0] * customers
    for n in range(days):
        day = Day(n)
        if n == 0:
            live = set(range(customers))
        else:
            moved = set(rng.sample(range(customers), round(customers * changed)))
            live = {i for i in range(customers) if i in moved or n - last_read[i] >= carry_days}
        for i in live:
            last_read[i] = n
        for route in ROUTES:
            members = [people[i] for i in sorted(live) if routes[i] == route]
            tallies[route].read_by_day[n] = len(members)
            tallies[route].usd_by_day.setdefault(n, 0.0)
            read_route(route, members, tallies[route], day, flagged, reasoning)
    return tallies


def summary(tallies: dict[str, Tally], customers: int, days: int) -> dict[str, object]:
    def per_day(n: int, only: Sequence[str] = ROUTES) -> float:
        return sum(tallies[r].usd_by_day.get(n, 0.0) for r in only) / max(sum(tallies[r].customers for r in only), 1)

    calls = sum(t.calls for t in tallies.values())
    tokens_in = sum(t.tokens_in for t in tallies.values())
    return {
        "usd_per_customer_day": {
            "day_one": round(per_day(0), 6),
            "day_two": round(per_day(1), 6),
            "avg_30_day": round(sum(per_day(n) for n in range(days)) / days, 6),
        },
        "by_route": {
            r: {
                "customers": t.customers,
                "day_one": round(per_day(0, [r]), 6),
                "day_two": round(per_day(1, [r]), 6),
                "avg_30_day": round(sum(per_day(n, [r]) for n in range(days)) / days, 6),
                "read_share_after_day_one": round(
                    sum(t.read_by_day[n] for n in range(1, days)) / max(t.customers * (days - 1), 1), 3
                ),
            }
            for r, t in tallies.items()
        },
        "batch_share": round(sum(t.batched_calls for t in tallies.values()) / max(calls, 1), 3),
        "cache_read_tokens_share": round(sum(t.cache_read for t in tallies.values()) / max(tokens_in, 1), 4),
    }


def report(tallies: dict[str, Tally], args: argparse.Namespace) -> None:
    print(
        f"{args.customers} customers from {RUN.isoformat()} for {args.days} days; {args.changed:.0%} of the book "
        f"changes each day, carried up to {args.carry_days} days; TIER3 flagged share {args.flagged:.0%}; "
        f"reasoning tokens per supervisor/tiebreaker call: {args.reasoning_tokens}\n"
    )
    for spec in sorted({*WORKER_BY_ROUTE.values(), SUPERVISOR, TIEBREAKER}):
        pin, pout = list_price_per_million(spec)
        via = "batch API" if uses_batch_api(spec) else "synchronous"
        print(f"  {spec:<32} ${pin:g} in / ${pout:g} out per million tokens (list), {via}")
    print(f"\n{'route':<7}{'customers':>10}{'calls':>7}{'in tok/call':>13}{'cache read':>12}{'$ over the month':>18}")
    for route, t in tallies.items():
        print(
            f"{route:<7}{t.customers:>10}{t.calls:>7}{t.tokens_in / max(t.calls, 1):>13,.0f}"
            f"{t.cache_read / max(t.tokens_in, 1):>12.1%}{t.usd:>18,.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--mix", default="0.7,0.25,0.05", help="TIER1,TIER2,TIER3 shares, summing to 1")
    parser.add_argument("--changed", type=float, default=0.2, help="share of the book with new evidence each day")
    parser.add_argument("--carry-days", type=int, default=7, help="the tenant's carry_forward_days (0: off)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--flagged", type=float, default=0.2, help="share of TIER3 rows the supervisor flags")
    parser.add_argument(
        "--reasoning-tokens", type=int, default=0, help="hidden reasoning tokens billed per supervisor/tiebreaker call"
    )
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    shares = [float(x) for x in args.mix.split(",")]
    if len(shares) != 3 or abs(sum(shares) - 1) > 1e-6 or min(shares) < 0:
        parser.error("--mix takes three non-negative shares summing to 1, e.g. 0.7,0.25,0.05")
    if args.days < 2:
        parser.error("--days must be at least 2 (day one and day two)")
    t0 = time.perf_counter()
    tallies = run(
        args.customers,
        shares,
        changed=args.changed,
        carry_days=args.carry_days,
        days=args.days,
        flagged=args.flagged,
        reasoning=args.reasoning_tokens,
        seed=args.seed,
    )
    report(tallies, args)
    print(f"\n({time.perf_counter() - t0:.1f}s)")
    print(json.dumps(summary(tallies, args.customers, args.days)))


if __name__ == "__main__":
    main()
