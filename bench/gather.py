"""How long gathering a tenant's evidence takes when the vendors hold us to their real rate limits.

The sandbox answers 429 with Retry-After above each vendor's documented limit (Stripe 25/s in test mode, HubSpot
100 per 10 s, Slack ~50 history reads a minute); the connectors pace themselves as a worker does
(connectors.registry.REQUESTS_PER_SECOND, Stripe 20/s), chunk by chunk, every connector at once as a scan does.
Prints requests per customer, 429s seen, and wall time per connector.

    python -m bench.gather --customers 2000 [--chunk 200] [--only hubspot,salesforce]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from connectors.registry import REQUESTS_PER_SECOND, open_connector, pacer
from connectors.stripe import HISTORY_DAYS, StripeSource
from sandbox.generate import generate_workspace
from sandbox.server import SandboxHandle, start_sandbox
from schemas.evidence import CustomerProfile

AS_OF = dt.date(2026, 11, 22)
# What the sandbox enforces, per second: the vendors' documented limits.
VENDOR_LIMITS = {"stripe": 25.0, "hubspot": 10.0, "slack": 50 / 60}


async def with_retries(call, stats: dict[str, int]):  # type: ignore[no-untyped-def]
    """Temporal's retry, in miniature: wait out a 429's Retry-After and run the chunk again."""
    from temporalio.exceptions import ApplicationError

    while True:
        try:
            return await call()
        except ApplicationError as e:
            if e.non_retryable:
                raise
            stats["retries"] += 1
            await asyncio.sleep(e.next_retry_delay.total_seconds() if e.next_retry_delay else 1.0)


async def gather_stripe(
    box: SandboxHandle, customers: list[CustomerProfile], chunk: int, stats: dict[str, int]
) -> None:
    source, limit = StripeSource(box.keys["stripe"], box.stripe_api_base), pacer(20.0)
    since = AS_OF - dt.timedelta(days=HISTORY_DAYS)

    async def one(c: CustomerProfile) -> None:
        async def call() -> None:
            async with limit:
                await source.invoices(c.customer_id, since)

        await with_retries(call, stats)

    start = time.perf_counter()
    for i in range(0, len(customers), chunk):
        for c in customers[i : i + chunk]:  # the activity reads its chunk's customers one after another
            await one(c)
        progress("stripe", min(i + chunk, len(customers)), len(customers), start)


async def gather_optional(
    kind: str, box: SandboxHandle, customers: list[CustomerProfile], chunk: int, stats: dict[str, int]
) -> None:
    config = {
        "hubspot": {"api_base": box.hubspot_host},
        "slack": {"api_base": box.slack_base_url},
        "salesforce": {"api_base": box.salesforce_instance_url, "ca_file": box.ca_file},
    }[kind]
    connector = open_connector(kind, box.keys[kind], config, pacer(REQUESTS_PER_SECOND[kind]).acquire)
    start = time.perf_counter()
    for i in range(0, len(customers), chunk):
        part = customers[i : i + chunk]
        await with_retries(lambda part=part: connector.gather(part, AS_OF), stats)
        progress(kind, i + len(part), len(customers), start)


def progress(kind: str, done: int, total: int, start: float) -> None:
    took = time.perf_counter() - start
    print(
        f"  {kind:<10} {done:>6}/{total} customers, {took:7.1f} s (about {took / done * (total - done):.0f} s to go)",
        flush=True,
    )


async def run(customers: int, chunk: int, only: list[str]) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-gather-")) / "ws"
    t = time.perf_counter()
    generate_workspace(root, customers=customers, as_of=AS_OF, seed=3)
    print(f"workspace: {customers} customers generated in {time.perf_counter() - t:.1f} s ({root})", flush=True)
    box = start_sandbox(root, rate_limits=VENDOR_LIMITS)
    profiles = [
        CustomerProfile(
            tenant_id="bench",
            customer_id=c["id"],
            name=c["name"],
            email=c.get("email"),
            arr_cents=0,
            contract=None,
            renewal_date=None,
            links={k: str(v) for k, v in (c.get("metadata") or {}).items()},
        )
        for c in json.loads((root / "stripe" / "customers.json").read_text())
    ]
    stats = {k: {"retries": 0} for k in only}
    timings: dict[str, float] = {}

    async def timed(kind: str) -> None:
        start = time.perf_counter()
        if kind == "stripe":
            await gather_stripe(box, profiles, chunk, stats[kind])
        else:
            await gather_optional(kind, box, profiles, chunk, stats[kind])
        timings[kind] = time.perf_counter() - start
        print(f"  {kind:<10} done in {timings[kind]:7.1f} s", flush=True)

    print(
        f"gathering {len(profiles)} customers, chunks of {chunk}, every connector at once; the sandbox limits "
        f"{VENDOR_LIMITS} requests/s",
        flush=True,
    )
    start = time.perf_counter()
    await asyncio.gather(*(timed(k) for k in only))
    wall = time.perf_counter() - start
    counts = box.request_counts()
    box.stop()
    print(f"\n{'connector':<11}{'requests':>9}{'per customer':>14}{'chunk retries (429)':>21}{'seconds':>9}")
    for kind in only:
        total = sum(counts.get(kind, {}).values())  # includes the requests the sandbox refused with 429
        print(f"{kind:<11}{total:>9}{total / len(profiles):>14.3f}{stats[kind]['retries']:>21}{timings[kind]:>9.1f}")
    print(f"\nall connectors at once: {wall:.1f} s for {len(profiles)} customers")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--chunk", type=int, default=200)
    p.add_argument("--only", default="stripe,hubspot,salesforce,slack")
    a = p.parse_args()
    asyncio.run(run(a.customers, a.chunk, a.only.split(",")))


if __name__ == "__main__":
    main()
