"""Which of a chunk's customers will most likely be carried forward (core.carry), read before batching so they are
batched apart from the ones a model reads. A hint only: ClassifyBatchWorkflow's classify_batch decides, with the
route's model known."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from core.carry import fingerprint, may_carry
from core.factors import breakdown
from db import carry as carry_db
from db import settings as tenant_settings
from db import tenants
from schemas.evidence import CustomerProfile, EvidenceBundle
from schemas.verdict import Route


async def likely_carried(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date,
    profiles: Sequence[CustomerProfile],
    bundles: dict[str, EvidenceBundle],
    routed: Sequence[tuple[str, Route]],
) -> set[str]:
    days = (await carry_db.cost_settings(conn))[0]
    if days <= 0 or not profiles:
        return set()
    last = await carry_db.last_verdicts(conn, tenant_id, run_date, [p.customer_id for p in profiles])
    weights = tenants.weights_of(await tenants.get_settings(conn, tenant_id))
    offers = (await tenant_settings.email_settings(conn)).offers
    route_of = dict(routed)
    out = set()
    for p in profiles:
        prev = last.get(p.customer_id)
        if prev is None:
            continue
        b = bundles[p.customer_id]
        fp = fingerprint(
            p,
            b,
            breakdown(b.items, weights, missing=b.missing),
            [o for o in offers if route_of[p.customer_id] in o.routes],
        )
        if may_carry(prev, fp, run_date, days, prev.model):
            out.add(p.customer_id)
    return out
