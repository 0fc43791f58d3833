"""The report Schedules as a worker start leaves them, and the day a report run by hand is about, on the real dev
server and Postgres.

What an operator checks: a deactivated tenant is no longer briefed, a Schedule paused in the Temporal UI stays
paused when a worker restarts, and "run the briefing now" composes the tenant's today, not UTC's."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.clock import local_day
from db import tenants
from db.pool import Database
from schemas import ids
from schemas.settings import Settings
from schemas.workflow_io import ReportInput
from tests.conftest import create_tenant, eventually, new_tenant_id
from workers.schedules import (
    DAILY_ID,
    active_tenant_zones,
    briefing_id,
    digest_id,
    ensure_for_database,
    ensure_schedules,
)

# One of these always has a date other than UTC's: Pago Pago's (UTC-11) until 11:00 UTC, Kiritimati's (UTC+14)
# from 10:00 UTC.
ZONES = ("Pacific/Pago_Pago", "Pacific/Kiritimati")


def zone_off_utc_date() -> tuple[str, dt.date]:
    """A zone whose date is not UTC's now and stays the same for the next hour, and that date."""
    now = dt.datetime.now(dt.UTC)
    for zone in ZONES:
        day = local_day(now, zone)
        if day != now.date() and local_day(now + dt.timedelta(hours=1), zone) == day:
            return zone, day
    raise AssertionError(f"no zone in {ZONES} is off UTC's date at {now}")


async def started_day(client: Client, workflow_id: str) -> dt.date | None:
    """The day in the input the workflow was started with: the one it composes."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [inp] = await client.data_converter.decode(started.input.payloads, [ReportInput])
    return inp.day


async def stop(client: Client, workflow_id: str) -> None:
    """No worker polls in this module: the started report is only looked at, then ended."""
    with contextlib.suppress(RPCError):
        await client.get_workflow_handle(workflow_id).terminate("test done")


async def gone(client: Client, schedule_id: str) -> bool:
    try:
        await client.get_schedule_handle(schedule_id).describe()
    except RPCError as e:
        return e.status == RPCStatusCode.NOT_FOUND
    return False


async def test_a_worker_start_deletes_a_deactivated_tenants_reports_and_keeps_an_operators_pause(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client
) -> None:
    staying = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    leaving = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    theirs = {t: [briefing_id(t), digest_id(t)] for t in (staying, leaving)}
    try:
        await ensure_schedules(client, {staying: "UTC", leaving: "UTC"}, set())

        async def listed() -> bool:  # the next start finds the Schedules through visibility, which lags creation
            return {s.id async for s in await client.list_schedules()} >= {*theirs[staying], *theirs[leaving]}

        await eventually(listed)

        # The tenant is switched off and another moves to Tokyo; an operator pauses the daily scan and a briefing
        # in the Temporal UI; then a worker restarts.
        await owner.execute("update tenants set active = false where id = $1", leaving)
        await owner.execute("update tenants set timezone = 'Asia/Tokyo' where id = $1", staying)
        await client.get_schedule_handle(DAILY_ID).pause(note="no scans during the migration")
        await client.get_schedule_handle(briefing_id(staying)).pause(note="no briefings in August")
        zones = await active_tenant_zones(db)
        assert zones[staying] == "Asia/Tokyo" and leaving not in zones
        made = await ensure_schedules(client, {staying: zones[staying]}, set(await db.deactivated_tenants()))

        assert made == [DAILY_ID, *theirs[staying]]
        assert all([await gone(client, sid) for sid in theirs[leaving]])
        daily = await client.get_schedule_handle(DAILY_ID).describe()
        briefing = await client.get_schedule_handle(briefing_id(staying)).describe()
        digest = await client.get_schedule_handle(digest_id(staying)).describe()
        assert (daily.schedule.state.paused, daily.schedule.state.note) == (True, "no scans during the migration")
        assert (briefing.schedule.state.paused, briefing.schedule.state.note) == (True, "no briefings in August")
        assert briefing.schedule.spec.time_zone_name == "Asia/Tokyo"  # updated all the same
        assert not digest.schedule.state.paused

        # Switched back on, the tenant is briefed again from the next start, not left paused.
        await owner.execute("update tenants set active = true where id = $1", leaving)
        zones = await active_tenant_zones(db)
        await ensure_schedules(client, {t: zones[t] for t in (staying, leaving)}, set(await db.deactivated_tenants()))
        for sid in theirs[leaving]:
            assert not (await client.get_schedule_handle(sid).describe()).schedule.state.paused
    finally:
        for sid in (DAILY_ID, *theirs[staying], *theirs[leaving]):
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(sid).delete()


async def test_a_worker_start_leaves_the_schedules_of_tenants_its_database_does_not_know(
    db: Database, client: Client
) -> None:
    """A second stack on the same Temporal server: its tenant is not in this database, so it is not this
    database's to delete (issue #13: a second demo deleted the first one's Schedules)."""
    stranger = new_tenant_id("other-stack")
    theirs = [briefing_id(stranger), digest_id(stranger)]
    await ensure_schedules(client, {stranger: "UTC"}, set())  # what the other stack's worker made
    try:

        async def listed() -> bool:  # listed, so a start that went by the list (as one did) would have seen them
            return {s.id async for s in await client.list_schedules()} >= set(theirs)

        await eventually(listed)
        await ensure_for_database(client, db)  # this stack's worker starts
        assert not [sid for sid in theirs if await gone(client, sid)]
    finally:
        for sid in (DAILY_ID, *theirs):
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(sid).delete()


async def test_a_briefing_run_by_hand_is_about_the_tenants_today_and_a_digest_about_utcs(
    owner: asyncpg.Connection, db: Database, client: Client, api_url: str
) -> None:
    zone, local_today = zone_off_utc_date()
    tid = new_tenant_id()
    await tenants.create_tenant(owner, tid, f"Tenant {tid}", zone)
    async with db.tenant(tid) as conn:
        token = await tenants.create_token(conn, tid, "operator", "schedules-test")
    async with httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}) as h:
        utc_before = dt.datetime.now(dt.UTC).date()
        briefing = (await h.post("/v1/reports/briefing/run")).json()
        digest = (await h.post("/v1/reports/digest/run")).json()
        utc_after = dt.datetime.now(dt.UTC).date()
        given = (await h.post("/v1/reports/briefing/run", params={"day": "2026-11-23"})).json()
    try:
        assert briefing == {
            "workflow_id": ids.report_by_hand(tid, "briefing", local_today),
            "day": local_today.isoformat(),
        }
        assert await started_day(client, briefing["workflow_id"]) == local_today
        assert dt.date.fromisoformat(digest["day"]) in {utc_before, utc_after}
        assert await started_day(client, digest["workflow_id"]) == dt.date.fromisoformat(digest["day"])
        assert given["day"] == "2026-11-23"
    finally:
        for run in (briefing, digest, given):
            await stop(client, run["workflow_id"])


@pytest.mark.parametrize("kind", ["briefing", "digest"])
async def test_the_cli_defaults_to_the_same_day_as_the_api(
    owner: asyncpg.Connection, client: Client, settings: Settings, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    from workers.cli import cmd_report

    zone, local_today = zone_off_utc_date()
    tid = new_tenant_id()
    await tenants.create_tenant(owner, tid, f"Tenant {tid}", zone)
    here = settings.model_copy(update={"temporal_address": client.service_client.config.target_host})
    utc_before = dt.datetime.now(dt.UTC).date()
    assert await cmd_report(argparse.Namespace(kind=kind, tenant=tid, date=None, wait=False), here) == 0
    expected = {local_today} if kind == "briefing" else {utc_before, dt.datetime.now(dt.UTC).date()}
    wid = capsys.readouterr().out.strip().removeprefix(f"{kind} started: ")
    try:
        assert wid.startswith(f"{kind}/{tid}/") and await started_day(client, wid) in expected
    finally:
        await stop(client, wid)
