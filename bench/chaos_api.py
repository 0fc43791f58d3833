"""The API's faults for `make chaos` (issue 13, items 1–7): each runs on a PostgreSQL and an API of its own
(tests/faults_security.py builds them, and its tests assert the same rows), beside the run's Temporal server."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client

from bench.chaos import ChaosStack, Row, scenario
from tests import faults_security as faults


def _row(fault: faults.Fault, started: float) -> Row:
    return Row(
        fault.fault,
        fault.expected,
        fault.observed,
        fault.lost,
        ok=fault.lost == 0,
        seconds=round(time.monotonic() - started, 1),
    )


async def _one(
    stack: ChaosStack, run: Callable[[Path, Client | None], Awaitable[faults.Fault | list[faults.Fault]]]
) -> Row:
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="renewals-chaos-api-", dir=stack.work))
    await asyncio.to_thread(tmp.chmod, 0o755)  # the embedded PostgreSQL runs as its own user when we are root
    got = await run(tmp, stack.client)
    rows = got if isinstance(got, list) else [got]
    if len(rows) == 1:
        return _row(rows[0], started)
    return Row(
        "; ".join(r.fault for r in rows),
        "; ".join(r.expected for r in rows),
        "; ".join(r.observed for r in rows),
        sum(r.lost for r in rows),
        ok=all(r.lost == 0 for r in rows),
        seconds=round(time.monotonic() - started, 1),
    )


@scenario
async def api_postgres_stopped(stack: ChaosStack) -> Row:
    return await _one(stack, faults.postgres_stopped)


@scenario
async def api_postgres_hung(stack: ChaosStack) -> Row:
    return await _one(stack, faults.postgres_hung)


@scenario
async def api_security(stack: ChaosStack) -> Row:
    return await _one(stack, faults.security_rows)


@scenario
async def api_oversized_bodies(stack: ChaosStack) -> Row:
    return await _one(stack, faults._bodies)
