"""The Temporal SDK's own metrics (task latencies, poll success, activity failures) on a Prometheus endpoint."""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig


def runtime_with_prometheus(bind: str) -> Runtime:
    """A Temporal runtime exporting metrics on `bind` (host:port); pass it to Client.connect(runtime=...)."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))
