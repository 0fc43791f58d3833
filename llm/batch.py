"""Vendor batch APIs (half price, answered within a day): which model specs the scheduled scan sends through one.

Not yet wired: the scan calls every vendor synchronously, so no spec uses a batch API today."""

from __future__ import annotations

BATCH_VENDORS: frozenset[str] = frozenset()


def uses_batch_api(spec: str) -> bool:
    return spec.split(":", 1)[0] in BATCH_VENDORS
