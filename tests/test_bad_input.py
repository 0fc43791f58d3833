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
from api.setup import state_summary
from connectors.stripe import MalformedRecord, invoice_signals, subscription_summary
from core.secrets import SecretKeyMismatch, decrypt, encrypt, new_key
from db.pool import Database
from sandbox.server import SandboxHandle
from schemas.retry import PROGRAMMING_ERRORS
from schemas.workflow_io import TenantScanInput
from tests.conftest import AS_OF, create_tenant

NOBODY = "http://127.0.0.1:9"  # loopback port with no server: a vendor that is down


async def test_a_vendor_that_is_down_is_retryable_and_the_connector_says_so_until_it_answers(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, sandbox: SandboxHandle
) -> None:
    tid = await create_tenant(owner, db, secret_key, stripe_key=sandbox.keys["stripe"], stripe_base=NOBODY)
    acts = ScanActivities(db, client, secret_key)
    for _ in range(2):  # the second failed attempt keeps the time the outage began
        with pytest.raises(ApplicationError) as err:
            await ActivityEnvironment().run(acts.sync_customers, TenantScanInput(tenant_id=tid, run_date=AS_OF))
    assert err.value.type == "VendorUnavailable" and not err.value.non_retryable
    assert "connector stripe: unavailable" in err.value.message
    async with db.tenant(tid) as conn:
        row = await conn.fetchrow("select status, state, state_since, last_error, updated_at from connectors")
        # the vendor is back: same key, reachable address (set directly, as a reconnect would reset the state)
        await conn.execute("update connectors set config = $1", {"api_base": sandbox.stripe_api_base})
    assert (row["status"], row["state"]) == ("error", "unreachable")
    assert row["state_since"] < row["updated_at"] and "unavailable" in row["last_error"]
    assert state_summary(row["state"], row["state_since"]).startswith("unreachable since ")
    await ActivityEnvironment().run(acts.sync_customers, TenantScanInput(tenant_id=tid, run_date=AS_OF))
    async with db.tenant(tid) as conn:
        after = await conn.fetchrow("select status, state, last_error from connectors")
    assert tuple(after) == ("connected", "connected", None)


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
    with pytest.raises(MalformedRecord, match="stripe invoice in_broken: status: Field required; created: Field"):
        invoice_signals([{"object": "invoice", "id": "in_broken"}], AS_OF)
    stringly = {"object": "invoice", "id": "in_s", "customer": "cus_1", "status": "paid", "created": "1700000000"}
    with pytest.raises(MalformedRecord, match="stripe invoice in_s of cus_1: created: Input should be a valid integer"):
        invoice_signals([stringly], AS_OF)


def test_a_subscription_without_items_keeps_its_customer_and_says_what_is_unknown() -> None:
    end = int(dt.datetime(2026, 12, 30, tzinfo=dt.UTC).timestamp())
    sub = {"object": "subscription", "id": "sub_1", "customer": "cus_1", "status": "active", "current_period_end": end}
    billing = subscription_summary(sub)
    assert billing["renewal_date"] == "2026-12-30" and billing["arr_cents"] == 0
    assert billing["problem"] == "stripe subscription sub_1 of cus_1 has no items: its ARR and seats are unknown"


def test_a_wrong_secret_key_is_a_non_retryable_error_that_says_what_to_do() -> None:
    stored = encrypt(new_key(), "rk_test_secret")
    with pytest.raises(SecretKeyMismatch, match="Set RENEWALS_SECRET_KEY back to that key") as err:
        decrypt(new_key(), stored)
    assert type(err.value).__name__ in PROGRAMMING_ERRORS  # matched by name in the retry policies


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
