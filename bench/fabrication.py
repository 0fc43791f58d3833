"""Fabrication benchmark: both corpora through core.citations.validate_row.

    python -m bench.fabrication [--customers 40] [--claims-customers 8] [--seed 7]

tests/fabrication.py: citations outside the bundle and misquoted numbers (the id classes). tests/
fabrication_corpus.py: claims as data (digits, number and scale words, currency, written dates, Unicode digits and
look-alikes, wrong sign, wrong kind, contrary evidence, hostile customer text, commercial terms, offers outside the
tenant's config, internal material, uncited strong verdicts, numbers in the diary), each class from disjoint
phrase banks (A, B tuned on; C, then D, held out for their first run: tests/fabrication_corpus.py), per
bank. Prints caught/total per class and honest twins wrongly rejected; the last line is one JSON object."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

from tests import fabrication, fabrication_corpus


class _Case(Protocol):
    category: str
    bad: bool

    @property
    def expect(self) -> str: ...


def tally(cases: Iterable[Any], outcome: Any) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for case in cases:
        c = out.setdefault(case.category, Counter())
        got = outcome(case)
        if case.bad:
            c["lies"] += 1
            c["caught"] += got == case.expect
        else:
            c["twins"] += 1
            c["twins_rejected"] += got != "clean"
    return {k: dict(v) for k, v in out.items()}


def _print(title: str, table: dict[str, dict[str, int]], expect: dict[str, str]) -> None:
    print(f"\n{title}")
    print(f"{'class':<26}{'must be':<16}{'caught':>12}{'twins rejected':>18}")
    for name, t in table.items():
        caught, rejected = f"{t['caught']}/{t['lies']}", f"{t['twins_rejected']}/{t['twins']}"
        print(f"{name:<26}{expect[name]:<16}{caught:>12}{rejected:>18}")
    c, n = sum(t["caught"] for t in table.values()), sum(t["lies"] for t in table.values())
    r, w = sum(t["twins_rejected"] for t in table.values()), sum(t["twins"] for t in table.values())
    print(f"{'  all':<42}{f'{c}/{n}':>12}{f'{r}/{w}':>18}")


def main(customers: int, claims_customers: int, seed: int) -> int:
    ids = fabrication.corpus(customers, seed)
    claims = fabrication_corpus.corpus(claims_customers, seed)
    splits = {
        "ids": tally(ids, fabrication.outcome),
        **{
            f"claims_bank_{b}": tally([c for c in claims if c.split == b], fabrication_corpus.outcome)
            for b in fabrication_corpus.BANKS
        },
    }
    print(
        f"{len(ids) + len(claims)} cases: {len(ids)} id cases ({customers} customers), {len(claims)} claim cases "
        f"({claims_customers} customers), seed {seed}"
    )
    _print("citations and misquoted numbers (tests/fabrication.py)", splits["ids"], fabrication.EXPECT)
    for b in fabrication_corpus.BANKS:
        _print(
            f"claims, phrase bank {b} (tests/fabrication_corpus.py)",
            splits[f"claims_bank_{b}"],
            fabrication_corpus.EXPECT,
        )
    summary: dict[str, Any] = {"cases": len(ids) + len(claims)}
    for name, table in splits.items():
        summary[name] = {
            "caught": sum(t["caught"] for t in table.values()),
            "lies": sum(t["lies"] for t in table.values()),
            "twins_rejected": sum(t["twins_rejected"] for t in table.values()),
            "twins": sum(t["twins"] for t in table.values()),
            "per_class": {
                k: f"{t['caught']}/{t['lies']} caught, {t['twins_rejected']}/{t['twins']} twins rejected"
                for k, t in table.items()
            },
        }
    print(json.dumps(summary))
    missed = sum(s["lies"] - s["caught"] + s["twins_rejected"] for k, s in summary.items() if k != "cases")
    return 1 if missed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--claims-customers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    raise SystemExit(main(args.customers, args.claims_customers, args.seed))
