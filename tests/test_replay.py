"""Replay recorded histories through today's workflow code. An approval can wait for weeks while the code
changes underneath it; a change that would break a waiting (or finished) workflow fails here, in CI.

Record new histories with `RECORD_HISTORIES=1 make test` (the end-to-end tests write them) and commit them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_recorded_histories_of_every_workflow_type() -> None:
    types = {
        json.loads(p.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]
        for p in HISTORIES
    }
    assert types >= {w.__name__ for w in WORKFLOWS}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))


def workflow_type(path: Path) -> str:
    name: str = json.loads(path.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]["workflowType"][
        "name"
    ]
    return name


APPROVALS = [p for p in HISTORIES if workflow_type(p) == "ApprovalWorkflow"]


@pytest.mark.parametrize("path", APPROVALS, ids=[p.stem for p in APPROVALS])
async def test_approval_history_replays_inside_the_sandbox_too(path: Path) -> None:
    """The worker runs ApprovalWorkflow unsandboxed (for the operator's latency); its histories replay inside the
    sandbox as well, to keep the sandbox's warning of non-determinism."""
    from tests.sandboxed_approval import SandboxedApprovalWorkflow

    replayer = Replayer(workflows=[SandboxedApprovalWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))


BATCH_TYPES = {"ClassifyBatchWorkflow", "SupervisorReviewWorkflow", "TiebreakerWorkflow"}
BATCHES = [p for p in HISTORIES if workflow_type(p) in BATCH_TYPES]


@pytest.mark.parametrize("path", BATCHES, ids=[p.stem for p in BATCHES])
async def test_batch_history_replays_inside_the_sandbox_too(path: Path) -> None:
    """The worker runs the per-batch workflows unsandboxed (for the scan's CPU per customer, issue 14); their
    histories replay inside the sandbox as well, to keep the sandbox's warning of non-determinism."""
    from tests.sandboxed_batch import SANDBOXED

    replayer = Replayer(workflows=SANDBOXED, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))
