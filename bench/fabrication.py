"""Fabrication benchmark: the corpus of tests/fabrication.py through core.citations.validate_row.

    python -m bench.fabrication [--customers 40] [--seed 7]

Prints, per category, how many fabricated rows were caught (demoted, or their email dropped, as the category
requires) and how many honest twins were wrongly rejected. Probes are categories beyond the brief that show
gaps."""

from __future__ import annotations

import argparse
from collections import Counter

from tests.fabrication import EXPECT, PROBES, corpus, outcome


def main(customers: int, seed: int) -> int:
    cases = corpus(customers, seed)
    caught, bad, rejected, twins = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    for case in cases:
        got = outcome(case)
        if case.bad:
            bad[case.category] += 1
            caught[case.category] += got == case.expect
        else:
            twins[case.category] += 1
            rejected[case.category] += got != "clean"
    print(f"{len(cases)} cases from {customers} customers (seed {seed})\n")
    print(f"{'category':<26}{'must be':<15}{'caught':>12}{'twins rejected':>18}")
    for group, names in (("brief", [c for c in EXPECT if c not in PROBES]), ("probes", list(PROBES))):
        for name in names:
            print(
                f"{name:<26}{EXPECT[name]:<15}{f'{caught[name]}/{bad[name]}':>12}"
                f"{f'{rejected[name]}/{twins[name]}':>18}"
            )
        c, b = sum(caught[n] for n in names), sum(bad[n] for n in names)
        r, t = sum(rejected[n] for n in names), sum(twins[n] for n in names)
        print(f"{'  all ' + group:<41}{f'{c}/{b}':>12}{f'{r}/{t}':>18}\n")
    required = [c for c in EXPECT if c not in PROBES]
    missed = sum(bad[n] - caught[n] for n in required) + sum(rejected.values())
    return 1 if missed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    raise SystemExit(main(args.customers, args.seed))
