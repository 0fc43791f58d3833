"""The Temporal SDK's own metrics (workflow and activity task latencies, poll results, failures, schedule-to-start
times) on a Prometheus endpoint, next to the API's /metrics for what the product itself is doing."""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


def temporal_runtime_with_prometheus(bind: str) -> Runtime:
    """A Temporal runtime whose metrics are served for Prometheus on `bind` ("host:port", e.g. "0.0.0.0:9464").

    Pass it to `Client.connect(..., runtime=...)`: every worker built on that client then reports through it.
    One runtime per process: each binds its own port."""
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"metrics bind {bind!r} must be host:port, e.g. 0.0.0.0:9464")
    # The SDK's own names and units (temporal_*, durations in milliseconds), so Temporal's published dashboards
    # and alert examples work unchanged.
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


runtime_with_prometheus = temporal_runtime_with_prometheus  # the name workers/worker.py imports today
