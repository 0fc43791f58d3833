"""Created-time windows: how one Stripe list is read as several cursor chains side by side.

A Stripe list is cursor-chained (`starting_after`), so its pages come one round trip after another; the same list
cut by `created` into ranges is several independent chains, read at once within the tenant's pace. Every window set
here covers all of time (the first is open below, the last open above), so where the cut points fall decides only
how evenly the work is shared, never which objects are read.
"""

from __future__ import annotations

from collections.abc import Sequence

Window = tuple[int | None, int | None]  # created[gte], created[lt]; None: open on that side
# What one chain of requests (each waiting for the last one's answer, ~100 ms a round trip) sends a second by itself.
ONE_CHAIN_RPS = 10.0
MOST_CHAINS = 16


def chains(per_second: float, most: int = MOST_CHAINS) -> int:
    """How many chains of requests a whole-tenant read may run at once at the tenant's pace with a vendor: as many
    as the pace can feed. Under ~20 a second (HubSpot's 9, Salesforce's 5, Slack's) one chain keeps up with the pace
    by itself, and more would only queue at the pacer and send in bunches when they are let through together."""
    return max(1, min(most, int(per_second // ONE_CHAIN_RPS)))


def windows(points: Sequence[int], since: int | None = None) -> list[Window]:
    """The windows between sorted cut points: [since, p0), [p0, p1), …, [pn, open). Points at or before `since` are
    dropped; no points gives one window (the whole list as one chain)."""
    cuts = sorted({p for p in points if since is None or p > since})
    lows: list[int | None] = [since, *cuts]
    highs: list[int | None] = [*cuts, None]
    return list(zip(lows, highs, strict=True))


def even_points(start: int, end: int, parts: int) -> list[int]:
    """`parts - 1` cut points spread evenly over [start, end): for lists whose objects come at a steady rate
    (invoices: recurring billing)."""
    if parts < 2 or end - start < parts:
        return []
    step = (end - start) / parts
    return [start + round(step * i) for i in range(1, parts)]


def quantile_points(created: Sequence[int], parts: int) -> list[int]:
    """Cut points that share `created` (the last read's values) out evenly: for lists whose objects are not spread
    evenly in time (customers signed in waves). Points are distinct, so windows are never empty by construction."""
    if parts < 2 or not created:
        return []
    ordered = sorted(created)
    picked = {ordered[len(ordered) * i // parts] for i in range(1, parts)}
    return sorted(p for p in picked if p > ordered[0])


def coarser(points: Sequence[int], parts: int) -> list[int]:
    """`parts - 1` of the cut points that split a list in `len(points) + 1` even shares, picked to split it in
    `parts` about even ones (a read at a slower pace runs fewer chains than the kept points allow)."""
    shares = len(points) + 1
    if parts >= shares:
        return list(points)
    return [points[round(shares * j / parts) - 1] for j in range(1, max(1, parts))]
