"""The columns of a usage row: what the tenant's usage query returns and what POST /v1/usage pushes, one row
per customer per day (connectors/usage.py documents their types)."""

from __future__ import annotations

COLUMNS = (
    "customer_id",
    "date",
    "active_users",
    "logins",
    "messages_sent",
    "agents_run",
    "jobs_executed",
    "error_count",
    "p95_latency_ms",
    "licensed_seats",
)
