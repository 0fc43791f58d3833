"""API load: N concurrent operators list the inbox and send drafts, over HTTP on loopback, against the real app,
dev server, Postgres and SMTP sink. Send latency includes the Workflow Update round-trip and the SMTP send.

    python -m bench.api_load --operators 50 --customers 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import time

import httpx
import uvicorn

from api.app import create_app
from api.scans import start_scan
from bench.stack import AS_OF, bench_stack
from db import tenants
from schemas.workflow_io import TenantScanResult
from workers.worker import build_workers, running


def pct(values: list[float], p: float) -> float:
    return round(statistics.quantiles(values, n=100)[p - 1] * 1000, 1) if len(values) > 1 else 0.0


async def main(operators: int, customers: int, rounds: int) -> None:
    async with bench_stack(customers) as st:
        async with running(build_workers(st.client, st.db, st.settings, st.key)):
            wid = await start_scan(st.client, st.tenant, AS_OF)
            result = await st.client.get_workflow_handle(wid, result_type=TenantScanResult).result()
            print(f"scanned: {result.due} due, {result.drafts} drafts", flush=True)
            async with st.db.tenant(st.tenant) as conn:
                token = await tenants.create_token(conn, st.tenant, "operator", "load")
                drafts = [r["id"] for r in await conn.fetch("select id from drafts where status = 'pending'")]
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(create_app(st.db, st.client), host="127.0.0.1", port=port,
                                                   log_level="warning"))
            serving = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.05)
            lists: list[float] = []
            sends: list[float] = []
            queue = asyncio.Queue[str]()
            for d in drafts:
                queue.put_nowait(d)

            async def operator(http: httpx.AsyncClient) -> None:
                for _ in range(rounds):
                    t = time.perf_counter()
                    r = await http.get("/v1/drafts?limit=50")
                    r.raise_for_status()
                    lists.append(time.perf_counter() - t)
                    if queue.empty():
                        continue
                    draft = queue.get_nowait()
                    t = time.perf_counter()
                    r = await http.post(f"/v1/drafts/{draft}/send")
                    r.raise_for_status()
                    sends.append(time.perf_counter() - t)

            limits = httpx.Limits(max_connections=operators)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60,
                                         headers={"Authorization": f"Bearer {token}"}) as http:
                t0 = time.perf_counter()
                await asyncio.gather(*[operator(http) for _ in range(operators)])
                wall = time.perf_counter() - t0
            server.should_exit = True
            await serving
        print(json.dumps({
            "operators": operators, "drafts_available": len(drafts), "lists": len(lists), "sends": len(sends),
            "emails_received": len(st.smtp.messages), "wall_seconds": round(wall, 1),
            "list_p50_ms": pct(lists, 50), "list_p99_ms": pct(lists, 99),
            "send_p50_ms": pct(sends, 50), "send_p99_ms": pct(sends, 99)}, indent=2))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--operators", type=int, default=50)
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=10)
    a = p.parse_args()
    asyncio.run(main(a.operators, a.customers, a.rounds))
