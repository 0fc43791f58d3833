"""ApprovalWorkflow on the real dev server: a decision that reaches the workflow before its first task ran."""

from __future__ import annotations

import asyncpg
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from db.pool import Database
from schemas import queues
from schemas.workflow_io import ApprovalInput, SendRequest
from tests import factories
from tests.conftest import create_tenant, eventually
from workers.stack import SmtpSink
from workflows.approval import ApprovalWorkflow


async def test_a_send_delivered_with_the_start_sends_one_email(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, smtp: SmtpSink, workers: None
) -> None:
    # Update-with-start puts the Send in the workflow's very first task, before `run` has begun: the handler
    # must already know which draft it is for.
    tenant = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    d = await factories.draft(db, tenant)
    start = WithStartWorkflowOperation(
        ApprovalWorkflow.run,
        ApprovalInput(tenant_id=tenant, draft_id=d.id, customer_id=d.customer_id, run_date=d.run_date),
        id=d.workflow_id,
        task_queue=queues.MAIN,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    before = len(smtp.messages)
    result = await client.execute_update_with_start_workflow(
        ApprovalWorkflow.send, SendRequest(operator="ana"), start_workflow_operation=start, id=f"send-{d.id}"
    )
    assert result.outcome == "sent"
    assert await (await start.workflow_handle()).query(ApprovalWorkflow.state) == "sent"

    async def one_email() -> bool:
        return len(smtp.messages) == before + 1

    await eventually(one_email)
    assert [m["To"] for m in smtp.messages[before:]] == [d.to_email]
