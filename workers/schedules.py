"""Temporal Schedules, created or updated idempotently at start."""

from __future__ import annotations

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

from schemas import queues
from schemas.workflow_io import DailyScanInput
from workflows.scan import DailyScanWorkflow

DAILY_ID = "renewals-daily"


def daily_schedule() -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(DailyScanWorkflow.run, DailyScanInput(), id=DAILY_ID,
                                           task_queue=queues.MAIN),
        spec=ScheduleSpec(cron_expressions=["0 6 * * *"]),   # 06:00 UTC every day
        # A missed tick (server down) still runs if caught within 6 hours; never two scans at once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=6)))


async def ensure_schedules(client: Client) -> list[str]:
    wanted = {DAILY_ID: daily_schedule()}
    for sid, schedule in wanted.items():
        try:
            await client.create_schedule(sid, schedule)
        except ScheduleAlreadyRunningError:
            def replace(_: ScheduleUpdateInput, s: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=s)
            await client.get_schedule_handle(sid).update(replace)
    return list(wanted)
