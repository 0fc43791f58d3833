"""Which failures a tenant scan waits out and re-runs (an outage), and which it records at once (a refusal that
will not change). Pure: the failure chains are built as Temporal hands them to the workflow."""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, RetryState

from workflows.scan import is_transient


def chain(inner: BaseException, retry_state: RetryState) -> ChildWorkflowError:
    """A chunk (child workflow) that failed because one of its activities failed with `inner`."""
    activity = ActivityError(
        "activity failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="gather_stripe",
        activity_id="1",
        retry_state=retry_state,
    )
    activity.__cause__ = inner
    child = ChildWorkflowError(
        "child failed",
        namespace="default",
        workflow_id="scan-chunk/t/2026-11-22/0",
        run_id="r",
        workflow_type="ScanChunkWorkflow",
        initiated_event_id=3,
        started_event_id=4,
        retry_state=RetryState.RETRY_POLICY_NOT_SET,
    )
    child.__cause__ = activity
    return child


def test_retries_that_ran_out_on_an_outage_are_waited_out() -> None:
    db_down = ApplicationError("connection refused", type="ConnectionRefusedError")
    assert is_transient(chain(db_down, RetryState.MAXIMUM_ATTEMPTS_REACHED))
    vendor_down = ApplicationError("connector stripe: unavailable (503)", type="VendorUnavailable")
    assert is_transient(chain(vendor_down, RetryState.MAXIMUM_ATTEMPTS_REACHED))
    assert is_transient(chain(db_down, RetryState.TIMEOUT))


def test_refusals_and_programming_errors_are_not() -> None:
    revoked = ApplicationError("credentials rejected", type="CredentialsRejected", non_retryable=True)
    assert not is_transient(chain(revoked, RetryState.NON_RETRYABLE_FAILURE))
    bug = ApplicationError("'<' not supported between 'str' and 'int'", type="TypeError")
    assert not is_transient(chain(bug, RetryState.NON_RETRYABLE_FAILURE))
    assert not is_transient(chain(bug, RetryState.MAXIMUM_ATTEMPTS_REACHED))  # even from an old retry policy
    wrong_key = ApplicationError("RENEWALS_SECRET_KEY differs", type="SecretKeyMismatch")
    assert not is_transient(chain(wrong_key, RetryState.NON_RETRYABLE_FAILURE))
