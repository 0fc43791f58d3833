"""RENEWALS_WORKFLOW_SANDBOX=false runs the workflows outside Temporal's sandbox (deploy/README.md): every recorded
history must replay the same there too, so the switch changes throughput and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from tests.test_replay import HISTORIES
from workers.worker import WORKFLOWS


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_without_the_sandbox(path: Path) -> None:
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=UnsandboxedWorkflowRunner()
    )
    await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, path.read_text()))
