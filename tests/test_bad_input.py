"""Bad input gets a clear error and loses nothing: a vendor that is down, a malformed record, an unknown tenant.
Activities are called directly here (Temporal's ActivityEnvironment), with the real database and SDK."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.scan import ScanActivities
from connectors.stripe import MalformedRecord, invoice_signals, subscription_summary
from db.pool import Database
from schemas.workflow_io import TenantScanInput
from tests.conftest import AS_OF, create_tenant

NOBODY = "http://127.0.0.1:9"  # loopback port with no server: a vendor that is down


async def test_a_vendor_that_is_down_is_retryable_and_says_so(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key="rk_test_x", stripe_base=NOBODY)
    acts = ScanActivities(db, client, secret_key)
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.sync_customers, TenantScanInput(tenant_id=tid, run_date=AS_OF))
    assert err.value.type == "VendorUnavailable" and not err.value.non_retryable
    assert "connector stripe: unavailable" in err.value.message
    async with db.tenant(tid) as conn:  # a passing outage is not written onto the connector as broken
        assert await conn.fetchval("select status from connectors where kind = 'stripe'") == "connected"


async def test_an_unconnected_tenant_is_a_clear_non_retryable_error(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    acts = ScanActivities(db, client, secret_key)
    with pytest.raises(ApplicationError, match="not connected") as err:
        await ActivityEnvironment().run(acts.sync_customers, TenantScanInput(tenant_id=tid, run_date=AS_OF))
    assert err.value.non_retryable


async def test_an_unknown_tenant_is_refused(db: Database, secret_key: str, client: Client) -> None:
    acts = ScanActivities(db, client, secret_key)
    with pytest.raises(ApplicationError, match="does not exist") as err:
        await ActivityEnvironment().run(acts.begin_scan, TenantScanInput(tenant_id="no-such-tenant", run_date=AS_OF))
    assert err.value.non_retryable


def test_a_malformed_invoice_is_named() -> None:
    with pytest.raises(MalformedRecord, match="in_broken is missing status, created"):
        invoice_signals([{"object": "invoice", "id": "in_broken"}], AS_OF)
    with pytest.raises(MalformedRecord, match="sub_1 is missing items"):
        subscription_summary({"object": "subscription", "id": "sub_1", "status": "active"})


def test_late_payment_signals_carry_their_numbers() -> None:
    day = 86400
    due = int(dt.datetime(2026, 9, 1, tzinfo=dt.UTC).timestamp())
    late = {
        "id": "in_late",
        "object": "invoice",
        "status": "paid",
        "created": due - 30 * day,
        "due_date": due,
        "amount_due": 120000,
        "attempt_count": 3,
        "status_transitions": {"paid_at": due + 12 * day},
    }
    items = invoice_signals([late], AS_OF)
    kinds = {i.kind: i for i in items}
    assert kinds["invoice_paid_late"].facts["days_late"] == 12
    assert kinds["invoice_paid_late"].facts["amount_usd"] == 1200.0
    assert kinds["payment_attempts_failed"].facts["failed_attempts"] == 2
    assert all(i.source_id == "stripe:in_late" for i in items)
