"""Temporal Schedules, created or updated idempotently at start."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from db.pool import Database
from db.tenants import timezone as tenant_zone
from schemas import ids, queues, search
from schemas.workflow_io import DailyScanInput, ReportInput
from workflows.reports import HealthBriefingWorkflow, WeeklyDigestWorkflow
from workflows.scan import DailyScanWorkflow

DAILY_ID = ids.DAILY_SCHEDULE
REPORT_KINDS = ids.REPORT_SCHEDULES
log = logging.getLogger(__name__)


def daily_schedule() -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DailyScanWorkflow.run, DailyScanInput(), id=DAILY_ID, task_queue=queues.MAIN
        ),
        spec=ScheduleSpec(cron_expressions=["0 6 * * *"]),  # 06:00 UTC every day
        # A missed tick (server down) still runs if caught within 6 hours; never two scans at once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=6)),
    )


briefing_id = ids.briefing_schedule
digest_id = ids.digest_schedule


def tenant_schedules(tenant_id: str, timezone: str) -> dict[str, Schedule]:
    """The health briefing on weekdays at 07:00 in the tenant's time zone; the digest on Mondays at 12:00 UTC."""
    attrs = search.attrs((search.TENANT, tenant_id))
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=3))
    return {
        briefing_id(tenant_id): Schedule(
            action=ScheduleActionStartWorkflow(
                HealthBriefingWorkflow.run,
                ReportInput(tenant_id=tenant_id, timezone=timezone),
                id=briefing_id(tenant_id),
                task_queue=queues.MAIN,
                typed_search_attributes=attrs,
            ),
            spec=ScheduleSpec(cron_expressions=["0 7 * * 1-5"], time_zone_name=timezone),
            policy=policy,
        ),
        digest_id(tenant_id): Schedule(
            action=ScheduleActionStartWorkflow(
                WeeklyDigestWorkflow.run,
                ReportInput(tenant_id=tenant_id),
                id=digest_id(tenant_id),
                task_queue=queues.MAIN,
                typed_search_attributes=attrs,
            ),
            spec=ScheduleSpec(cron_expressions=["0 12 * * 1"]),
            policy=policy,
        ),
    }


async def active_tenant_zones(db: Database) -> dict[str, str]:
    zones = {}
    for tid in await db.active_tenants():
        async with db.tenant(tid) as conn:
            zones[tid] = await tenant_zone(conn, tid)
    return zones


async def ensure_for_database(client: Client, db: Database) -> list[str]:
    """What a worker (or the demo) does at start: the Schedules of the tenants this database knows."""
    return await ensure_schedules(client, await active_tenant_zones(db), set(await db.deactivated_tenants()))


async def ensure_schedules(client: Client, tenants: dict[str, str], deactivated: set[str]) -> list[str]:
    """The daily scan, and each active tenant's (id -> time zone) briefing and digest: created, or updated. The
    report Schedules of the `deactivated` tenants (known to this database, switched off) are deleted."""
    wanted = {DAILY_ID: daily_schedule()}
    for tid, tz in tenants.items():
        wanted |= tenant_schedules(tid, tz)
    made = await apply_schedules(client, wanted)
    await delete_reports_of(client, deactivated - set(tenants))
    return made


async def apply_schedules(client: Client, wanted: dict[str, Schedule]) -> list[str]:
    for sid, schedule in wanted.items():
        try:
            await client.create_schedule(sid, schedule)
        except ScheduleAlreadyRunningError:
            # The spec, action and policy are ours; the state is the operator's: a Schedule paused in the UI (with
            # its note) stays paused across worker restarts, as an update would otherwise unpause it.
            def replace(old: ScheduleUpdateInput, s: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=dataclasses.replace(s, state=old.description.schedule.state))

            await client.get_schedule_handle(sid).update(replace)
    return list(wanted)


async def delete_reports_of(client: Client, deactivated: set[str]) -> list[str]:
    """Delete the briefing and digest Schedules of the `deactivated` tenants; the ids deleted.

    Only tenants this database knows as switched off: a Temporal server can be shared (a second stack, or a
    namespace another deployment also uses), and a tenant this database has never heard of is someone else's.

    Deleted rather than paused: an operator could unpause a paused one and brief a tenant that was switched off,
    and, as updates keep the operator's pause, a reactivated tenant would stay paused. Both Schedules are derived
    from the tenant's row, so a reactivated tenant gets them back at the next worker start; the workflows they
    started keep their histories. (The daily scan needs nothing here: it only ever reads active tenants.)"""
    gone = []
    for sid in sorted(f"{kind}/{tid}" for tid in deactivated for kind in REPORT_KINDS):
        try:
            await client.get_schedule_handle(sid).delete()
        except RPCError as e:  # NOT_FOUND: never created, or another worker starting at the same time deleted it
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            continue
        log.warning("deleted Schedule %s: tenant %s is deactivated", sid, sid.partition("/")[2])
        gone.append(sid)
    return gone
