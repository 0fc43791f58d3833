"""The per-customer daily cost cap, decided before each call. Pure."""

from __future__ import annotations

from collections.abc import Mapping


def over_cap(spent_today: Mapping[str, float], cap_usd: float, customers: list[str]) -> set[str]:
    """Customers who have reached the day's cap: no further paid call today, the offline model finishes them."""
    return {c for c in customers if spent_today.get(c, 0.0) >= cap_usd}


def split_cost(total_usd: float, customers: list[str]) -> dict[str, float]:
    """One batched call serves ten customers; each carries an equal share in the ledger."""
    if not customers:
        return {}
    share = total_usd / len(customers)
    return {c: share for c in customers}
