"""Usage and errors, read from the tenant's own product database.

The tenant gives a read-only DSN and one SQL query. The query receives the customer ids as $1 (text[]) and the
first day wanted as $2 (date), and must return one row per customer per day with these columns:

    customer_id (text, the Stripe cus_ id), date (date), active_users, logins, messages_sent, agents_run,
    jobs_executed, error_count (integers), p95_latency_ms (number), licensed_seats (integer)

e.g. `select account_stripe_id as customer_id, day as date, ... from analytics.daily_usage
      where account_stripe_id = any($1) and day >= $2`. The connection is opened read-only whatever the role.

Tenants without database access push the same rows to `POST /v1/usage` (db/usage.py `PushedUsage` reads them).
For the sandbox and the demo, `load_usage_csv` / `CsvUsageSource` read the workspace's usage/daily_metrics.csv
(same columns) instead. `UsageConnector(source).gather(customers, run_date)` is the per-chunk entry point.

Trend rules are pure functions: 7- and 30-day change of active users, seat utilisation, error spikes (the last two
days' error rate at 3x the 30-day one, and at least 5 errors).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import secrets
from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any, Protocol

import asyncpg
from temporalio.exceptions import ApplicationError

from connectors.dsn import DsnRefused, check_dsn, is_same_server
from schemas.evidence import CustomerProfile, EvidenceItem
from schemas.usage import COLUMNS

HISTORY_DAYS = 45
MOVE = 0.20  # a 20 % change in active users is a signal (PostHog's Vitally setup uses 20 %)
LOW_UTILISATION, HIGH_UTILISATION = 0.40, 0.90
SPIKE = 3.0  # the last two days' error rate at 3x the 30-day baseline
MIN_SPIKE_ERRORS = 5  # and at least this many errors: one error on a quiet baseline is not a "3.9x spike"


def _window(rows: list[dict[str, Any]], run_date: dt.date, start: int, end: int) -> list[dict[str, Any]]:
    """Rows from `start` to `end` days before run_date (start > end), inclusive of start, exclusive of end."""
    lo, hi = run_date - dt.timedelta(days=start), run_date - dt.timedelta(days=end)
    return [r for r in rows if lo <= r["date"] < hi]


def _change(now: list[dict[str, Any]], before: list[dict[str, Any]]) -> tuple[float, float, float] | None:
    if not now or not before:
        return None
    a, b = mean(r["active_users"] for r in now), mean(r["active_users"] for r in before)
    return (round(a, 1), round(b, 1), (a - b) / b) if b > 0 else None


def usage_signals(customer_id: str, rows: list[dict[str, Any]], run_date: dt.date) -> list[EvidenceItem]:
    items: list[EvidenceItem] = []
    # The evidence time is the newest usage day read (core/freshness.py): a feed that stopped shows as stale.
    newest = max((r["date"] for r in rows if r["date"] <= run_date), default=run_date)
    last7 = _window(rows, run_date, 7, 0)
    for span, before in (("30d", _window(rows, run_date, 37, 30)), ("7d", _window(rows, run_date, 14, 7))):
        change = _change(last7, before)
        if change is None or abs(change[2]) < MOVE and span == "7d":
            continue
        now, then, ratio = change
        pct = round(100 * ratio)
        if abs(ratio) < MOVE:  # a month of flat usage is a reading too: the account was read, and is steady
            items.append(
                EvidenceItem(
                    source_id=f"usage:{customer_id}:active_users:{span}",
                    kind="usage_steady",
                    factor="usage_trend",
                    signal=0.0,
                    summary=f"Daily active users averaged {now:g} over the last 7 days against {then:g} "
                    f"30 days earlier ({pct:+d}%): steady",
                    facts={"active_users_now": now, "active_users_before": then, "change_pct": pct},
                    observed_on=newest,
                )
            )
            continue
        items.append(
            EvidenceItem(
                source_id=f"usage:{customer_id}:active_users:{span}",
                kind="usage_grew" if pct > 0 else "usage_fell",
                factor="usage_trend",
                signal=max(-0.6, min(0.6, ratio)) if span == "30d" else max(-0.3, min(0.3, ratio / 2)),
                summary=f"Daily active users averaged {now:g} over the last 7 days against {then:g} "
                f"{'30' if span == '30d' else '7'} days earlier ({pct:+d}%)",
                facts={"active_users_now": now, "active_users_before": then, "change_pct": pct},
                observed_on=newest,
            )
        )
    seats = max((r["licensed_seats"] or 0 for r in last7), default=0)
    if last7 and seats:
        users = round(mean(r["active_users"] for r in last7), 1)
        share = users / seats
        if share < LOW_UTILISATION or share > HIGH_UTILISATION:
            pct = round(100 * share)
            items.append(
                EvidenceItem(
                    source_id=f"usage:{customer_id}:utilisation:7d",
                    kind="low_utilisation" if share < LOW_UTILISATION else "near_seat_limit",
                    factor="usage_trend",
                    signal=-0.2 if share < LOW_UTILISATION else 0.3,
                    summary=f"{users:g} of {seats} licensed seats active on average this week ({pct}%)",
                    facts={"active_users": users, "licensed_seats": seats, "utilisation_pct": pct},
                    observed_on=newest,
                )
            )
    base = _window(rows, run_date, 30, 2)
    recent = _window(rows, run_date, 2, 0)

    def rate(rs: list[dict[str, Any]]) -> float:
        return float(sum(r["error_count"] for r in rs) / max(1, sum(r["jobs_executed"] for r in rs)))

    spiked = sum(r["error_count"] for r in recent) >= MIN_SPIKE_ERRORS
    if base and recent and spiked and rate(base) > 0 and rate(recent) >= SPIKE * rate(base):
        errors = sum(r["error_count"] for r in recent)
        items.append(
            EvidenceItem(
                source_id=f"usage:{customer_id}:errors:2d",
                kind="error_spike",
                factor="support_sentiment",
                signal=-0.3,
                summary=f"{errors} errors in the last 2 days, {rate(recent) / rate(base):.1f}x the 30-day error rate",
                facts={"errors_2d": errors, "spike_ratio": round(rate(recent) / rate(base), 1)},
                observed_on=newest,
            )
        )
    return items


def check_row(row: dict[str, Any]) -> dict[str, Any]:
    missing = [c for c in COLUMNS if c not in row]
    if missing:
        raise ValueError(f"the usage query's rows lack {', '.join(missing)}; it must return {', '.join(COLUMNS)}")
    return row


class UsageFailure(ApplicationError):
    """A failure of the tenant's database whose own words (`driver_text`) must not reach operators: they can carry
    data from wherever the DSN points. The message is fixed and names a reference; the activity keeps the driver's
    text for the tenant's admins under it (GET /v1/connectors/errors/{reference}). `driver_text` is an attribute,
    not a detail, so it never enters a workflow history either."""

    def __init__(self, what: str, driver_text: str, *, type: str, non_retryable: bool) -> None:
        self.reference = f"usage-{secrets.token_hex(6)}"
        self.driver_text = driver_text
        super().__init__(
            f"connector usage: {what} (reference {self.reference}; an admin can read the database's own message "
            f"with GET /v1/connectors/errors/{self.reference})",
            type=type,
            non_retryable=non_retryable,
        )


class UsageSource:
    """The tenant's product database, read-only, through the query the tenant wrote.

    Its own connection, never the pool's: no app.tenant_id, no codecs, and server settings that are the
    connector's (the DSN may set none). The query runs in a read-only transaction under `statement_timeout`. The
    DSN is checked (connectors.dsn) before connecting, and the server's identity after, against the product's own
    (`own_dsn`, `own_identity`; `hosts` is the production allow-list, None in development)."""

    def __init__(
        self,
        dsn: str,
        query: str,
        timeout: float = 30.0,
        *,
        own_dsn: str | None = None,
        own_identity: str | None = None,
        hosts: list[str] | None = None,
    ) -> None:
        self.dsn, self.query, self.timeout = dsn, query, timeout
        self.own_dsn, self.own_identity, self.hosts = own_dsn, own_identity, hosts

    async def fetch(self, customer_ids: list[str], since: dt.date) -> dict[str, list[dict[str, Any]]]:
        try:
            check_dsn(self.dsn, self.own_dsn, self.hosts)
        except DsnRefused as e:
            raise ApplicationError(
                f"connector usage: {e}; reconnect it with PUT /v1/connectors/usage",
                type="ConnectorMisconfigured",
                non_retryable=True,
            ) from e
        session = {
            "default_transaction_read_only": "on",
            "statement_timeout": str(int(self.timeout * 1000)),
            "application_name": "renewals-usage",
        }
        try:
            conn = await asyncpg.connect(self.dsn, timeout=self.timeout, server_settings=session)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            rejected = isinstance(e, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError)
            raise UsageFailure(
                "cannot connect to the product database",
                f"{type(e).__name__}: {e}",
                type="CredentialsRejected" if rejected else "VendorUnavailable",
                non_retryable=rejected,
            ) from e
        try:
            if await is_same_server(conn, self.own_identity):
                raise ApplicationError(
                    "connector usage: the DSN reaches the product's own PostgreSQL server, which a usage query may "
                    "never read; reconnect it with PUT /v1/connectors/usage",
                    type="ConnectorMisconfigured",
                    non_retryable=True,
                )
            async with conn.transaction(readonly=True):
                rows = await conn.fetch(self.query, customer_ids, since, timeout=self.timeout)
        except (TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            raise UsageFailure(
                "the usage query failed", f"{type(e).__name__}: {e}", type="UsageQueryFailed", non_retryable=True
            ) from e
        finally:
            await conn.close()
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            row = check_row(dict(r.items()))
            out[row["customer_id"]].append(row)
        return out


def load_usage_csv(
    path: Path, customer_ids: list[str] | None = None, since: dt.date | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The workspace's usage/daily_metrics.csv (the sandbox and demo stand-in for the product database), in the
    same shape `UsageSource.fetch` returns. A row that cannot be read raises ValueError naming its line."""
    wanted = set(customer_ids) if customer_ids is not None else None
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for line, raw in enumerate(reader, start=2):
            if wanted is not None and raw.get("customer_id") not in wanted:
                continue
            try:
                row: dict[str, Any] = {"customer_id": raw["customer_id"], "date": dt.date.fromisoformat(raw["date"])}
                for c in COLUMNS[2:]:
                    row[c] = float(raw[c]) if c == "p95_latency_ms" else int(raw[c])
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{path.name} line {line} is malformed: {e}") from e
            if since is None or row["date"] >= since:
                out[row["customer_id"]].append(row)
    return out


class CsvUsageSource:
    """The workspace CSV behind the same `fetch(customer_ids, since)` as UsageSource."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    async def fetch(self, customer_ids: list[str], since: dt.date) -> dict[str, list[dict[str, Any]]]:
        return await asyncio.to_thread(load_usage_csv, self.path, customer_ids, since)


class RowSource(Protocol):
    """Where usage rows come from: the tenant's database, the sample CSV, or the rows pushed over the API."""

    async def fetch(self, customer_ids: list[str], since: dt.date) -> dict[str, list[dict[str, Any]]]: ...


class UsageConnector:
    """`await UsageConnector(source).gather(customers, run_date)` -> {customer_id: (evidence, error or None)}, with
    `source` a UsageSource (the tenant's database) or a CsvUsageSource (the sample workspace). One query per chunk.
    A customer with no rows, or with a row the rules cannot read, gets an error string; a broken query or an
    unreachable database raises (ApplicationError) for the whole chunk."""

    def __init__(self, source: RowSource, history_days: int = HISTORY_DAYS) -> None:
        self.source, self.history_days = source, history_days

    async def gather(
        self, customers: list[CustomerProfile], run_date: dt.date
    ) -> dict[str, tuple[list[EvidenceItem], str | None]]:
        since = run_date - dt.timedelta(days=self.history_days)
        try:
            rows = await self.source.fetch([c.customer_id for c in customers], since)
        except ValueError as e:  # a row without the contract's columns
            raise ApplicationError(f"connector usage: {e}", type="UsageQueryFailed", non_retryable=True) from e
        out: dict[str, tuple[list[EvidenceItem], str | None]] = {}
        for c in customers:
            mine = rows.get(c.customer_id) or []
            if not mine:
                out[c.customer_id] = ([], f"usage: no rows for {c.customer_id} since {since}")
                continue
            try:
                for r in mine:
                    if not isinstance(r.get("date"), dt.date) or any(
                        not isinstance(r.get(k), int | float) for k in ("active_users", "error_count", "jobs_executed")
                    ):
                        raise ValueError(f"usage row {c.customer_id} {r.get('date')} is malformed")
                out[c.customer_id] = (usage_signals(c.customer_id, mine, run_date), None)
            except (KeyError, TypeError, ValueError) as e:
                out[c.customer_id] = ([], f"usage: {e}")
        return out
