"""The floor for the scan benchmark: one no-op activity per customer. Kept apart from bench/scan.py because the
workflow sandbox re-imports a workflow's module, and this one must import nothing but Temporal."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop(i: int) -> int:
    return i


@workflow.defn
class BareFanout:
    """N no-op activities, at most 1,000 pending at once (the server allows 2,000)."""

    @workflow.run
    async def run(self, n: int) -> int:
        done = 0
        for start in range(0, n, 1000):
            batch = [
                workflow.execute_activity(noop, i, start_to_close_timeout=timedelta(seconds=30))
                for i in range(start, min(n, start + 1000))
            ]
            done += len(await asyncio.gather(*batch))
        return done
