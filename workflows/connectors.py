"""One connector key checked for the API, which waits for the answer. One attempt: the admin is waiting and
will try again; a retry here would only hold the request open."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from schemas.connectors import ConnectorCheck
    from workflows.activity_refs import ConnectorActivities
    from workflows.options import ActivityOptions

CHECK = ActivityOptions(start_to_close_timeout=timedelta(seconds=30), retry_policy=RetryPolicy(maximum_attempts=1))


@workflow.defn
class CheckConnectorWorkflow:
    @workflow.run
    async def run(self, inp: ConnectorCheck) -> dict[str, Any]:
        return await CHECK.run(ConnectorActivities.check_connector, inp, summary=f"check the {inp.kind} key")
