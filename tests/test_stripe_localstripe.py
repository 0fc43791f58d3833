"""The Stripe connector against localstripe (PyPI): a stateful Stripe fake nobody on this team wrote, so our
reading of Stripe's wire format is checked against someone else's. localstripe knows legacy Plans, not Prices."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from connectors.stripe import StripeSource, customer_row, invoice_signals, pick_subscription


@pytest.fixture(scope="module")
def localstripe_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "localstripe"
    # --from-scratch: otherwise localstripe starts from /tmp/localstripe.pickle, the store every earlier run left
    # (one stopped mid-write leaves it truncated, and the next start dies on it).
    log = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with log.open("wb") as err:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [str(exe), "--port", str(port), "--from-scratch"], stdout=subprocess.DEVNULL, stderr=err
        )
    deadline = time.monotonic() + 20

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    while not listening():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            proc.wait()
            pytest.fail(f"localstripe did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait()


@pytest.fixture(scope="module")
def seeded(localstripe_url: str) -> dict[str, str]:
    c = stripe.StripeClient("sk_test_local", base_addresses={"api": localstripe_url}, max_network_retries=0)
    product = c.v1.products.create(params={"name": "Seat"})
    # localstripe keeps its state on disk between runs, so every id this test chooses is fresh.
    monthly, annual = f"plan_m_{uuid.uuid4().hex[:8]}", f"plan_a_{uuid.uuid4().hex[:8]}"
    c.v1.plans.create(
        params={"id": monthly, "amount": 5000, "currency": "usd", "interval": "month", "product": product.id}
    )
    c.v1.plans.create(
        params={"id": annual, "amount": 48000, "currency": "usd", "interval": "year", "product": product.id}
    )
    ids = {}
    for name, plan, qty in [("Monthly Co", monthly, 10), ("Annual Co", annual, 25), ("Leaving Co", monthly, 4)]:
        cus = c.v1.customers.create(
            params={
                "name": name,
                "email": f"{name.split()[0].lower()}@example.test",
                "metadata": {"hubspot_company_id": "9001"},
            }
        )
        pm = c.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"},
            }
        )
        c.v1.payment_methods.attach(pm.id, params={"customer": cus.id})
        c.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": pm.id}})
        sub = c.v1.subscriptions.create(params={"customer": cus.id, "items": [{"plan": plan, "quantity": qty}]})
        if name == "Leaving Co":
            c.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
        ids[name] = cus.id
    return ids


async def test_customers_are_hydrated_from_stripe_objects(localstripe_url: str, seeded: dict[str, str]) -> None:
    source = StripeSource("sk_test_local", localstripe_url)
    subs: dict[str, list[dict]] = {}
    async for s in source.subscriptions():
        subs.setdefault(s["customer"], []).append(s)
    rows = {r["id"]: r async for r in _rows(source, subs)}
    monthly, annual, leaving = (rows[seeded[n]] for n in ("Monthly Co", "Annual Co", "Leaving Co"))
    assert (monthly["arr_cents"], monthly["contract"]) == (12 * 5000 * 10, "monthly")
    assert (annual["arr_cents"], annual["contract"]) == (48000 * 25, "annual")
    assert annual["renewal_date"] > dt.datetime.now(dt.UTC).date() + dt.timedelta(days=300)
    assert leaving["billing"]["cancel_at_period_end"] is True
    assert monthly["links"] == {"hubspot_company_id": "9001"}


async def _rows(source: StripeSource, subs: dict[str, list[dict]]):  # type: ignore[no-untyped-def]
    async for c in source.customers():
        yield customer_row(c, pick_subscription(subs.get(c["id"], [])))


async def test_invoices_are_read_and_a_paid_invoice_is_not_a_risk(localstripe_url: str, seeded: dict[str, str]) -> None:
    source = StripeSource("sk_test_local", localstripe_url)
    # localstripe answers 500 to Stripe's `created[gte]` invoice filter, so ask without it here.
    invoices = await source.invoices(seeded["Monthly Co"], None)
    assert invoices and invoices[0]["id"].startswith("in_") and invoices[0]["status"] == "paid"
    today = dt.datetime.now(dt.UTC).date()
    assert [i for i in invoice_signals(invoices, today) if i.signal < 0] == []
