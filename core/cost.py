"""The per-customer daily cost cap, decided before each call. Pure."""

from __future__ import annotations

from collections.abc import Mapping


def over_cap(spent_today: Mapping[str, float], share_usd: float, cap_usd: float, customers: list[str]) -> set[str]:
    """Customers for whom one more share of a call would pass the cap: they are finished by the offline model."""
    return {c for c in customers if spent_today.get(c, 0.0) + share_usd > cap_usd}


def split_cost(total_usd: float, customers: list[str]) -> dict[str, float]:
    """One batched call serves ten customers; each carries an equal share in the ledger."""
    if not customers:
        return {}
    share = total_usd / len(customers)
    return {c: share for c in customers}
