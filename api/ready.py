"""Readiness: can this API serve requests now? /v1/health stays liveness only (the process answers)."""

from __future__ import annotations

import asyncio
import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.errors import RETRY_AFTER, problem

router = APIRouter(prefix="/v1", tags=["health"])
CHECK_TIMEOUT = 3.0  # seconds per dependency: a load balancer must not wait on a hung one


async def _postgres(request: Request) -> None:
    async with request.app.state.db.connection() as conn:
        await conn.fetchval("select 1", timeout=CHECK_TIMEOUT)


async def _temporal(request: Request) -> None:
    client = request.app.state.temporal
    if client is None:
        raise RuntimeError("this API was started without a Temporal client")
    await client.service_client.check_health(timeout=dt.timedelta(seconds=CHECK_TIMEOUT))


@router.get("/ready", responses={503: {"description": "PostgreSQL or Temporal is down; `checks` says which"}})
async def ready(request: Request) -> JSONResponse:
    """200 when PostgreSQL and Temporal both answer within seconds; else 503 problem details naming what is down."""
    checks: dict[str, str] = {}
    for name, check in (("postgres", _postgres), ("temporal", _temporal)):
        try:
            await asyncio.wait_for(check(request), CHECK_TIMEOUT + 1)
            checks[name] = "ok"
        except Exception as e:  # noqa: BLE001 - whatever failed, the answer is "not ready" and what failed
            checks[name] = f"down: {type(e).__name__}"
    down = [k for k, v in checks.items() if v != "ok"]
    if not down:
        return JSONResponse({"status": "ready", "checks": checks})
    response = problem(503, "unavailable", "Not ready", f"{' and '.join(down)} not answering", request, checks=checks)
    response.headers["Retry-After"] = RETRY_AFTER
    return response
