"""One worker process's share of a paced read, run as a subprocess by tests/test_pacing.py: it builds the tenant's
Stripe source the way a worker does (ScanActivities._stripe: the tenant's key, config and shared pace), waits for
"go" on stdin, then lists one customer's invoices `n` times, each list one paced request.

    python tests/pace_worker.py APP_DSN SECRET_KEY TENANT_ID CUSTOMER_ID N
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.scan import ScanActivities  # noqa: E402
from db.pool import Database  # noqa: E402


async def main(dsn: str, secret_key: str, tenant_id: str, customer_id: str, n: int) -> None:
    db = await Database.connect(dsn, max_size=2)
    try:
        # No Temporal client: building a Stripe source and reading through it touches only PostgreSQL and Stripe.
        source = await ScanActivities(db, None, secret_key)._stripe(tenant_id)  # type: ignore[arg-type]
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        for _ in range(n):
            await source.invoices(customer_id, None)
    finally:
        await db.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5], int(sys.argv[5])))
