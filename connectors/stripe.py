"""Stripe: the required source. Hydrates the customer list and turns invoices into payment signals.

Signal derivation is pure (plain dicts in Stripe's wire format in, evidence items out); the client is a thin
layer over the official SDK with its own retries off, so Temporal owns every retry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import stripe

from connectors.errors import classify_http, parse_retry_after
from connectors.streams import merged
from connectors.stripe_records import Customer, Invoice, MalformedRecord, Subscription, read
from core.renewal import RenewalRule, parse_date, renewal_date
from core.windows import Window
from schemas.evidence import CustomerProfile, EvidenceItem, FactValue

__all__ = ["MalformedRecord", "StripeSource", "customer_row", "invoice_signals", "pick_subscription"]

LATE_GRACE_DAYS = 3
DEFAULT_RULE = RenewalRule()
HISTORY_DAYS = 180


def _day(ts: int | None) -> dt.date | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date() if ts else None


def _item_period_end(sub: dict[str, Any]) -> int | None:
    # Newer API versions move the period onto subscription items.
    if sub.get("current_period_end"):
        return int(sub["current_period_end"])
    items = (sub.get("items") or {}).get("data") or []
    ends = [i.get("current_period_end") for i in items if i.get("current_period_end")]
    return int(max(ends)) if ends else None


def subscription_summary(sub: dict[str, Any]) -> dict[str, FactValue]:
    """ARR, contract, renewal date and seats from a subscription in wire format. One without `items` keeps its
    customer monitored (the renewal date is on the subscription too) and says what is unknown, in `problem`."""
    sub = read(Subscription, sub)
    arr_cents = 0
    quantity = 0
    interval = None
    plan = None  # the first item's price, as the tenant names it: what a weight profile's `plans` rule matches
    for item in (sub["items"] or {}).get("data", []):
        price = item.get("price") or item.get("plan") or {}
        plan = plan or price.get("lookup_key") or price.get("nickname") or price.get("id")
        recurring = price.get("recurring") or {
            "interval": price.get("interval"),
            "interval_count": price.get("interval_count", 1),
        }
        interval = recurring.get("interval")
        per_year = {"month": 12, "year": 1, "week": 52, "day": 365}.get(interval or "", 0)
        count = int(recurring.get("interval_count") or 1)
        qty = int(item.get("quantity") or 1)
        quantity += qty
        arr_cents += _unit_amount(item) * qty * per_year // count
    end = _item_period_end(sub)
    problem = (
        {"problem": f"stripe subscription {sub['id']} of {sub['customer']} has no items: its ARR and seats are unknown"}
        if sub["items"] is None
        else {}
    )
    return problem | {
        "subscription_id": sub["id"],
        "status": sub["status"],
        "arr_cents": arr_cents,
        "arr_usd": round(arr_cents / 100, 2),
        "quantity": quantity,
        "contract": "annual" if interval == "year" else "monthly",
        "plan": plan,
        "renewal_date": renewal.isoformat() if (renewal := _day(end)) else None,
        "cancel_at_period_end": bool(sub.get("cancel_at_period_end")),
        "started": started.isoformat() if (started := _day(sub.get("created"))) else None,  # a new account is thin
    }


def customer_row(
    customer: dict[str, Any], sub: dict[str, Any] | None, rule: RenewalRule = DEFAULT_RULE
) -> dict[str, Any]:
    """The customer as the scan stores it. Its renewal date is the contract's where Stripe knows it (the
    tenant's metadata key, core/renewal), else the billing period end; `billing` keeps both and which won."""
    customer = read(Customer, customer)
    billing = subscription_summary(sub) if sub else {}
    if billing:
        period_end = billing["renewal_date"]
        when, source = renewal_date(rule, metadata=(sub or {}).get("metadata"), period_end=parse_date(period_end))
        metadata_date = parse_date(((sub or {}).get("metadata") or {}).get(rule.metadata_key))
        billing |= {
            "billing_period_end": period_end,
            # kept so the scan can put the CRM's close date before or after it (core/renewal.stored_renewal_date)
            "metadata_renewal_date": metadata_date.isoformat() if metadata_date else None,
            "renewal_date": when.isoformat() if when else None,
            "renewal_source": source,
        }
    renewal = billing.get("renewal_date")
    return {
        "id": customer["id"],
        "name": customer.get("name") or customer.get("email") or customer["id"],
        "email": customer.get("email"),
        "arr_cents": int(billing.get("arr_cents") or 0),
        "contract": billing.get("contract"),
        "renewal_date": dt.date.fromisoformat(str(renewal)) if renewal else None,
        "subscription_id": billing.get("subscription_id"),
        "status": str(billing.get("status") or "none"),
        "links": {k: str(v) for k, v in (customer.get("metadata") or {}).items()},
        "billing": billing,
    }


def pick_subscription(subs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The subscription that renews: a live one if any, else the latest."""
    live = [s for s in subs if s.get("status") in ("active", "past_due", "trialing", "unpaid")]
    pool = live or subs
    return max(pool, key=lambda s: s.get("created") or 0) if pool else None


def invoice_signals(invoices: list[dict[str, Any]], run_date: dt.date) -> list[EvidenceItem]:
    """Late payments, failed attempts, open and uncollectible invoices, and seat or plan changes. Every invoice is
    read at the edge first: one that does not fit raises MalformedRecord naming it (and costs its customer only)."""
    items: list[EvidenceItem] = []
    ordered = sorted((read(Invoice, inv) for inv in invoices), key=lambda i: i["created"])
    on_time = 0
    for inv in ordered:
        sid = f"stripe:{inv['id']}"
        amount = round(int(inv.get("amount_due") or 0) / 100, 2)
        created = _day(inv["created"])
        due = _day(inv.get("due_date")) or created
        paid = _day((inv.get("status_transitions") or {}).get("paid_at"))
        attempts = int(inv.get("attempt_count") or 0)
        if inv["status"] == "paid" and paid and due:
            late = (paid - due).days
            if late > LATE_GRACE_DAYS:
                signal = -0.35 if late >= 30 else -0.2 if late >= 7 else -0.1
                items.append(
                    EvidenceItem(
                        source_id=sid,
                        kind="invoice_paid_late",
                        factor="payment_history",
                        signal=signal,
                        summary=f"Invoice {inv['id']} for ${amount:,.2f} was paid {late} days late",
                        facts={
                            "amount_usd": amount,
                            "days_late": late,
                            "due_date": due.isoformat(),
                            "paid_date": paid.isoformat(),
                        },
                        observed_on=paid,
                    )
                )
            else:
                on_time += 1
        if inv["status"] == "open" and due and due < run_date:
            overdue = (run_date - due).days
            items.append(
                EvidenceItem(
                    source_id=sid,
                    kind="invoice_past_due",
                    factor="payment_history",
                    signal=-0.4,
                    summary=f"Invoice {inv['id']} for ${amount:,.2f} is {overdue} days past due",
                    facts={"amount_usd": amount, "days_overdue": overdue, "due_date": due.isoformat()},
                    observed_on=due,
                )
            )
        if inv["status"] == "uncollectible":
            items.append(
                EvidenceItem(
                    source_id=sid,
                    kind="invoice_uncollectible",
                    factor="payment_history",
                    signal=-0.6,
                    summary=f"Invoice {inv['id']} for ${amount:,.2f} was marked uncollectible",
                    facts={"amount_usd": amount},
                    observed_on=created,
                )
            )
        if attempts > 1:
            items.append(one_trouble(retried_payment(inv, sid, attempts, amount, created, due, paid), items))
    if on_time >= on_time_needed(ordered) and not any(i.signal < 0 for i in items):
        last = ordered[-1]
        items.append(
            EvidenceItem(
                source_id=f"stripe:{last['id']}",
                kind="payments_on_time",
                factor="payment_history",
                signal=0.3,
                summary=f"The last {on_time} invoices were all paid on time",
                facts={"invoices_on_time": on_time},
                observed_on=_day(last["created"]),
            )
        )
    items += seat_signals(ordered)
    return items


def one_trouble(attempts: EvidenceItem, items: list[EvidenceItem]) -> EvidenceItem:
    """One invoice's payment trouble counts once, at its worst: the failed attempts behind an invoice paid late
    (or still open, or written off) are why it is late, not a second trouble. They add only what they weigh
    beyond it (issue #12: one invoice a week late after three declined charges summed to an at-risk account, and
    one open invoice of a growing account to a full -1 on payment history)."""
    same = [i.signal for i in items if i.source_id == attempts.source_id and i.factor == attempts.factor]
    if not same:
        return attempts
    return attempts.model_copy(update={"signal": round(min(0.0, attempts.signal - min(same)), 2)})


def on_time_needed(ordered: list[dict[str, Any]]) -> int:
    """Invoices paid on time that earn credit: three, or two when they come a quarter apart (annual contracts
    invoiced each quarter have only two in the 180 days read), so quarterly payers can earn it too."""
    days = [inv["created"] for inv in ordered if inv.get("status") not in ("void", "draft")]
    quarterly = len(days) >= 2 and min(b - a for a, b in zip(days, days[1:], strict=False)) >= 80 * 86400
    return 2 if quarterly else 3


def retried_payment(
    inv: dict[str, Any],
    sid: str,
    attempts: int,
    amount: float,
    created: dt.date | None,
    due: dt.date | None,
    paid: dt.date | None,
) -> EvidenceItem:
    """Failed payment attempts. A charge declined and then paid within the grace days (a card limit, a bank's
    fraud check) is a hiccup, not payment trouble: kind payment_retried, a faint signal (issue #12)."""
    facts: dict[str, FactValue] = {"attempt_count": attempts, "failed_attempts": attempts - 1, "amount_usd": amount}
    if inv["status"] == "paid" and paid and due and (paid - due).days <= LATE_GRACE_DAYS:
        days = (paid - due).days
        return EvidenceItem(
            source_id=sid,
            kind="payment_retried",
            factor="payment_history",
            signal=-0.05,
            summary=f"Invoice {inv['id']} was paid on attempt {attempts}, {days} day(s) after it was due",
            facts=facts | {"paid_days_after_due": days},
            observed_on=paid,
        )
    return EvidenceItem(
        source_id=sid,
        kind="payment_attempts_failed",
        factor="payment_history",
        signal=-min(0.45, 0.15 * (attempts - 1)),
        summary=f"Invoice {inv['id']} needed {attempts} payment attempts",
        facts=facts,
        observed_on=created,
    )


def _unit_amount(obj: dict[str, Any]) -> int:
    """Per-unit price in cents from a Price (`unit_amount`) or a legacy Plan (`amount`)."""
    price = obj.get("price") or obj.get("plan") or {}
    return int(price.get("unit_amount") or price.get("amount") or 0)


def _line_state(inv: dict[str, Any]) -> tuple[int, int]:
    lines = (inv.get("lines") or {}).get("data") or []
    qty = sum(int(line.get("quantity") or 0) for line in lines)
    unit = max((_unit_amount(line) for line in lines), default=0)
    return qty, unit


def seat_signals(ordered: list[dict[str, Any]]) -> list[EvidenceItem]:
    """Seat growth or contraction, and plan up- or downgrades, between the oldest and newest invoice."""
    billed = [i for i in ordered if (i.get("lines") or {}).get("data")]
    if len(billed) < 2:
        return []
    first, last = billed[0], billed[-1]
    (q0, u0), (q1, u1) = _line_state(first), _line_state(last)
    sid = f"stripe:{last['id']}"
    out: list[EvidenceItem] = []
    if q0 and abs(q1 - q0) / q0 >= 0.1:
        change = round(100 * (q1 - q0) / q0)
        grew = q1 > q0
        out.append(
            EvidenceItem(
                source_id=sid,
                kind="seats_grew" if grew else "seats_contracted",
                factor="usage_trend",
                signal=min(0.6, 0.3 + abs(change) / 200) if grew else -min(0.6, 0.3 + abs(change) / 200),
                summary=f"Seats went from {q0} to {q1} ({change:+d}%) between invoice {first['id']} and {last['id']}",
                facts={"seats_before": q0, "seats_now": q1, "change_pct": change},
                observed_on=_day(last["created"]),
            )
        )
    if u0 and u1 != u0:
        up = u1 > u0
        out.append(
            EvidenceItem(
                source_id=sid,
                kind="plan_upgraded" if up else "plan_downgraded",
                factor="usage_trend",
                signal=0.3 if up else -0.4,
                summary=f"Unit price moved from ${u0 / 100:,.2f} to ${u1 / 100:,.2f} per seat",
                facts={"unit_price_before_usd": round(u0 / 100, 2), "unit_price_now_usd": round(u1 / 100, 2)},
                observed_on=_day(last["created"]),
            )
        )
    return out


def subscription_signals(profile: CustomerProfile) -> list[EvidenceItem]:
    b = profile.billing
    if not b.get("subscription_id"):
        return []
    sid = f"stripe:{b['subscription_id']}"
    facts = {k: b.get(k) for k in ("status", "arr_usd", "quantity", "contract", "renewal_date", "started")}
    items = [
        EvidenceItem(
            source_id=sid,
            kind="subscription",
            factor="payment_history",
            signal=0.0,
            summary=f"{str(b.get('contract', '')).capitalize()} subscription, ${b.get('arr_usd', 0):,.2f} "
            f"ARR, {b.get('quantity')} seats, renews {b.get('renewal_date')}",
            facts=facts,
        )
    ]
    if b.get("cancel_at_period_end"):
        items.append(
            EvidenceItem(
                source_id=sid,
                kind="cancel_at_period_end",
                factor="payment_history",
                signal=-1.0,
                summary=f"The subscription is set to cancel at the end of the period ({b.get('renewal_date')})",
                facts={"renewal_date": b.get("renewal_date")},
            )
        )
    if b.get("status") == "past_due":
        items.append(
            EvidenceItem(
                source_id=sid,
                kind="subscription_past_due",
                factor="payment_history",
                signal=-0.3,
                summary="The subscription is past due",
                facts={"status": "past_due"},
            )
        )
    return items


def stripe_error(e: stripe.StripeError) -> Exception:
    status = e.http_status
    headers = e.headers or {}
    return classify_http("stripe", status, e.user_message or str(e), parse_retry_after(headers.get("retry-after")))


class StripeSource:
    """The official SDK, pointed at `api_base`, retries off: one visible attempt per Temporal retry. `pace` is
    awaited before every request (every page of a list): the tenant's shared pace (activities/pacing.py)."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        timeout: float = 20.0,
        pace: Callable[[], Awaitable[None]] | None = None,
        chains: int = 1,
    ) -> None:
        self.pace = pace
        self.chains = chains  # cursor chains its whole-tenant reads may run at once (core/windows.chains)
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=stripe.HTTPXClient(timeout=timeout),
        )

    async def _all(self, path: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Every object of a list, as _pages reads it."""
        async for data in self._pages(path, params):
            for obj in data:
                yield obj

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a list, page by page rather than auto_paging_iter, so each page's request waits for its
        slot. Read through the SDK's own client (its requestor, auth, error mapping), but as the page's JSON:
        building a StripeObject per record and then a dict from it was most of a 10,000-customer sync's CPU."""
        params = {"limit": 100, **params}
        while True:
            if self.pace:
                await self.pace()
            try:
                page: dict[str, Any] = (await self.client.raw_request_async("get", path, **params)).data
            except stripe.StripeError as e:
                raise stripe_error(e) from e
            data = page.get("data") or []
            if data:
                yield data
            if not page.get("has_more") or not data:
                return
            params = params | {"starting_after": data[-1]["id"]}

    async def windowed(
        self, path: str, params: dict[str, Any], windows: Sequence[Window]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The pages of one list cut into created windows (core/windows), each window its own cursor chain, read
        side by side: pages come as they arrive, not in list order. The pace still holds every request; the windows
        only stop a 100-page list from waiting one round trip per page. The first failure ends the read."""
        chains = [
            self._pages(path, params | {"created": {k: v for k, v in (("gte", lo), ("lt", hi)) if v is not None}})
            for lo, hi in windows
        ]
        async for page in merged(chains):
            yield page

    async def customers(self) -> AsyncIterator[dict[str, Any]]:
        async for c in self._all("/v1/customers", {}):
            yield c

    async def subscriptions(self) -> AsyncIterator[dict[str, Any]]:
        async for s in self._all("/v1/subscriptions", {"status": "all"}):
            yield s

    async def invoices(self, customer_id: str, since: dt.date | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"customer": customer_id}
        if since is not None:
            params["created"] = {"gte": int(dt.datetime.combine(since, dt.time(), dt.UTC).timestamp())}
        return [i async for i in self._all("/v1/invoices", params)]

    async def tenant_invoices(self, created_gte: int) -> AsyncIterator[dict[str, Any]]:
        """Every invoice of the account created since `created_gte` (epoch seconds), 100 a page: one paginated
        list for the whole tenant instead of one per customer."""
        async for i in self._all("/v1/invoices", {"created": {"gte": created_gte}}):
            yield i

    def tenant_invoice_pages(self, windows: Sequence[Window]) -> AsyncIterator[list[dict[str, Any]]]:
        """The tenant's invoices in these created windows (the first's start is where the read begins), read side
        by side."""
        return self.windowed("/v1/invoices", {}, windows)

    def customer_pages(self, windows: Sequence[Window]) -> AsyncIterator[list[dict[str, Any]]]:
        return self.windowed("/v1/customers", {}, windows)

    def subscription_pages(self, windows: Sequence[Window]) -> AsyncIterator[list[dict[str, Any]]]:
        return self.windowed("/v1/subscriptions", {"status": "all"}, windows)

    async def check(self) -> None:
        """One cheap read, to validate a key before it is stored."""
        try:
            await self.client.v1.customers.list_async(params={"limit": 1})
        except stripe.StripeError as e:
            raise stripe_error(e) from e
