"""Where a tenant scan's seconds go: its phases read from the TenantScanWorkflow's own history, and the worker
processes' CPU in each, from samples taken while it ran (bench/scale.py).

A phase is the span from its first activity (or chunk) scheduled to its last one closed, so phases that run side by
side overlap rather than being forced into a sequence.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

# phase → the activity types it is made of; "chunks" is the child workflows
PHASES = {
    "sync_customers": ("sync_customers",),
    "crm_and_invoices": ("read_crm_renewals", "read_crm_renewal_changes", "sync_invoices"),
    "select_due": ("select_due",),
}
_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
_CHILD_CLOSED = {
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
}

Span = tuple[dt.datetime, dt.datetime]


def phase_spans(events: Iterable[HistoryEvent]) -> dict[str, Span]:
    """phase → (first start, last end), for the phases the history has; plus "before_chunks" (the run's start to its
    first chunk: everything the whole-tenant phases cost the scan) and "total"."""
    kind_of: dict[int, str] = {}  # scheduled event id → phase
    spans: dict[str, list[dt.datetime]] = {}
    first = last = first_chunk = None

    def widen(phase: str, at: dt.datetime) -> None:
        spans.setdefault(phase, [at, at])
        spans[phase] = [min(spans[phase][0], at), max(spans[phase][1], at)]

    for e in events:
        at = e.event_time.ToDatetime(tzinfo=dt.UTC)
        first, last = first or at, at
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            phase = next((p for p, acts in PHASES.items() if name in acts), None)
            if phase:
                kind_of[e.event_id] = phase
                widen(phase, at)
        elif e.event_type in _CLOSED:
            scheduled = getattr(e, _CLOSED[e.event_type]).scheduled_event_id
            if scheduled in kind_of:
                widen(kind_of[scheduled], at)
        elif e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            first_chunk = first_chunk or at
            widen("chunks", at)
        elif e.event_type in _CHILD_CLOSED:
            widen("chunks", at)
    out = {p: (s[0], s[1]) for p, s in spans.items()}
    if first and first_chunk:
        out["before_chunks"] = (first, first_chunk)
    if first and last:
        out["total"] = (first, last)
    return out


def seconds(spans: dict[str, Span]) -> dict[str, float]:
    return {p: round((b - a).total_seconds(), 2) for p, (a, b) in spans.items()}


def cpu_in(spans: dict[str, Span], samples: Sequence[tuple[float, float]]) -> dict[str, float]:
    """phase → CPU seconds the sampled processes used in it. `samples` are (epoch seconds, CPU seconds so far), in
    time order; the CPU at a phase's ends is read from the nearest samples at or after them (a sample period late at
    worst, which is why the bench samples often)."""
    times = [t for t, _ in samples]

    def at(when: dt.datetime) -> float:
        i = min(bisect.bisect_left(times, when.timestamp()), len(samples) - 1)
        return samples[i][1]

    return {p: round(at(b) - at(a), 2) for p, (a, b) in spans.items()} if samples else {}
