"""The SQL of vendor batch submissions (llm/batch.py): the intent recorded before a batch is submitted, its id after.

A submission is a model_outputs row of stage "<stage>-batch": {"key", "custom_id", "customers", "since", "id",
"guessed"}.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg


async def intend(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date,
    batch_no: int,
    stage: str,
    model: str,
    intent: dict[str, Any],
) -> dict[str, Any]:
    """Record the intent to submit (kept if one is there already) and return the one that holds, in one round trip:
    the statement's own insert, or (on conflict) the row an earlier attempt wrote, which its snapshot sees."""
    held: dict[str, Any] | None = await conn.fetchval(
        """with ins as (insert into model_outputs (tenant_id, run_date, batch_no, stage, model, output)
                             values ($1, $2, $3, $4, $5, $6)
                        on conflict (tenant_id, run_date, batch_no, stage) do nothing
                          returning output)
           select output from ins
            union all
           select output from model_outputs
            where tenant_id = $1 and run_date = $2 and batch_no = $3 and stage = $4 and not exists (select from ins)""",
        tenant_id,
        run_date,
        batch_no,
        stage,
        model,
        intent,
    )
    assert held is not None  # just written, or written before
    return held


async def submitted(
    conn: asyncpg.Connection,
    tenant_id: str,
    run_date: dt.date,
    batch_no: int,
    stage: str,
    batch_id: str,
    guessed: bool = False,
) -> None:
    """The vendor accepted the intended batch under this id (`guessed`: found again, but not surely ours)."""
    await conn.execute(
        """update model_outputs set output = output || jsonb_build_object('id', $5::text, 'guessed', $6::bool)
            where tenant_id = $1 and run_date = $2 and batch_no = $3 and stage = $4""",
        tenant_id,
        run_date,
        batch_no,
        stage,
        batch_id,
        guessed,
    )


async def claimed(conn: asyncpg.Connection, since: dt.date) -> set[str]:
    """The batch ids the transaction's tenant's submissions hold since a date: not to be taken for another's."""
    rows = await conn.fetch(
        """select output->>'id' id from model_outputs
            where run_date >= $1 and stage like '%-batch' and output->>'id' is not null""",
        since,
    )
    return {r["id"] for r in rows}
