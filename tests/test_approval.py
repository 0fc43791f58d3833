"""ApprovalWorkflow on the real dev server, through the real API over HTTP, with the SMTP sink: a send is a decision
(accepted at once, `sending`, naming its content version), then an undo window, then a delivery that ends sent,
delivery_failed or delivery_uncertain — each visible on the draft, the inbox filter, the DraftStatus search
attribute and /metrics — and an operator's audited resolve for the uncertain one."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from api.decisions import load, send_update_id
from core.decisions import content_version
from db import drafts
from db.pool import Database
from schemas import queues, search
from schemas.workflow_io import ApprovalInput, SendRequest
from tests import factories
from tests.conftest import create_tenant, eventually, record_history
from workers.stack import SmtpSink
from workflows.approval import ApprovalWorkflow

pytestmark = pytest.mark.usefixtures("workers")


async def tenant_with_window(owner: asyncpg.Connection, db: Database, secret_key: str, seconds: int) -> str:
    tid = await create_tenant(owner, db, secret_key, stripe_key=None, stripe_base=None)
    async with db.tenant(tid) as conn:
        await conn.execute("update tenant_settings set undo_window_seconds = $1", seconds)
    return tid


def http(api_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def emails_of(smtp: SmtpSink, draft_id: str) -> list[str]:
    return [factories.plain_text(m) for m in smtp.messages if m["X-Renewals-Draft"] == draft_id]


async def status_is(h: httpx.AsyncClient, draft_id: str, status: str) -> dict | None:  # type: ignore[type-arg]
    d = (await h.get(f"/v1/drafts/{draft_id}")).json()
    return d if d["status"] == status else None


async def search_status(client: Client, workflow_id: str) -> str | None:
    return (await client.get_workflow_handle(workflow_id).describe()).typed_search_attributes.get(search.DRAFT_STATUS)


async def audit_actions(db: Database, tenant: str, draft_id: str) -> list[str]:
    async with db.tenant(tenant) as conn:
        rows = await conn.fetch("select action from audit_log where subject = $1 order by id", draft_id)
    return [r["action"] for r in rows]


async def test_a_send_delivered_with_the_start_sends_one_email(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, smtp: SmtpSink
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
    result = await client.execute_update_with_start_workflow(
        ApprovalWorkflow.send, SendRequest(operator="ana"), start_workflow_operation=start, id=f"send-{d.id}"
    )
    assert result.outcome == "sending"
    assert await (await start.workflow_handle()).result() == "sent"
    assert len(emails_of(smtp, d.id)) == 1


async def test_send_is_a_decision_an_undo_takes_it_back_and_a_double_click_is_one_email(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, smtp: SmtpSink, api_url: str
) -> None:
    tid = await tenant_with_window(owner, db, secret_key, 3)
    d = await factories.waiting_draft(db, client, tid)
    token = await factories.token(db, tid, "operator", "ana")
    async with http(api_url, token) as h:
        version = (await h.get(f"/v1/drafts/{d.id}")).json()["content_version"]
        assert version == content_version(d.subject, d.body)
        first = await h.post(f"/v1/drafts/{d.id}/send", json={"content_version": version})
        assert first.status_code == 200, first.text
        assert first.json()["outcome"] == "sending" and first.json()["content_version"] == version
        assert first.json()["undo_until"] is not None
        shown = await eventually(lambda: status_is(h, d.id, "sending"))
        assert shown["undo_until"] is not None
        listed = (await h.get("/v1/drafts", params={"status": "sending"})).json()["items"]
        assert [x["id"] for x in listed] == [d.id]

        undone = await h.post(f"/v1/drafts/{d.id}/undo")
        assert (undone.status_code, undone.json()["outcome"]) == (200, "undone"), undone.text
        assert (await h.get(f"/v1/drafts/{d.id}")).json()["status"] == "pending"
        assert await search_status(client, d.workflow_id) == "pending"
        again = await h.post(f"/v1/drafts/{d.id}/undo")  # nothing left to undo
        assert again.status_code == 409

        clicks = await asyncio.gather(*[h.post(f"/v1/drafts/{d.id}/send") for _ in range(3)])  # a new decision
        assert [r.status_code for r in clicks] == [200] * 3, [r.text for r in clicks]
        assert {r.json()["outcome"] for r in clicks} == {"sending"}
        assert await client.get_workflow_handle(d.workflow_id).result() == "sent"
        assert (await h.get(f"/v1/drafts/{d.id}")).json()["status"] == "sent"
        late = await h.post(f"/v1/drafts/{d.id}/undo")
        assert late.status_code == 409 and late.headers["content-type"].startswith("application/problem+json")
        later = await h.post(f"/v1/drafts/{d.id}/send")
        assert (later.status_code, later.json()["outcome"]) in ((200, "sending"), (200, "already_sent")), later.text
    assert len(emails_of(smtp, d.id)) == 1
    assert await search_status(client, d.workflow_id) == "sent"
    assert await audit_actions(db, tid, d.id) == [
        "draft.send_requested",
        "draft.undone",
        "draft.send_requested",
        "draft.sent",
    ]
    await record_history(client, d.workflow_id, "approval_undone_then_sent_v2")


async def test_send_with_unsaved_changes_validates_and_sends_them_as_one_decision(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, smtp: SmtpSink, api_url: str
) -> None:
    tid = await tenant_with_window(owner, db, secret_key, 0)
    d = await factories.waiting_draft(db, client, tid)
    token = await factories.token(db, tid, "operator", "ana")
    async with http(api_url, token) as h:
        same = await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": d.subject, "body": d.template_body})
        assert (same.status_code, same.json()["outcome"]) == (200, "unchanged"), same.text
        invented = await h.post(
            f"/v1/drafts/{d.id}/send", json={"subject": d.subject, "body": d.template_body + "\nAlso 9876 errors."}
        )
        assert invented.status_code == 422 and invented.json()["problems"], invented.text
        assert (await h.get(f"/v1/drafts/{d.id}")).json()["status"] == "pending"
        stale = await h.post(f"/v1/drafts/{d.id}/send", json={"content_version": "0123456789ab"})
        assert stale.status_code == 409 and "changed since you opened it" in stale.json()["detail"]

        # The page edits the template (prose and references); what is sent is its rendering.
        body = d.template_body.replace("Hello {{customer_name}} team,", "Hi Dana,")
        sent = await h.post(f"/v1/drafts/{d.id}/send", json={"subject": "Before your renewal", "body": body})
        assert (sent.status_code, sent.json()["outcome"]) == (200, "sending"), sent.text
        shown = (await h.get(f"/v1/drafts/{d.id}")).json()
        assert shown["template_body"] == body and "Hi Dana," in shown["body"] and "{{" not in shown["body"]
        assert sent.json()["content_version"] == content_version(shown["subject"], shown["body"])
        assert sent.json()["undo_until"] is None  # the window is off for this tenant
        await eventually(lambda: status_is(h, d.id, "sent"))
    [payload] = emails_of(smtp, d.id)
    assert "Hi Dana," in payload
    assert await audit_actions(db, tid, d.id) == ["draft.edited", "draft.send_requested", "draft.sent"]


async def test_an_uncertain_delivery_shows_everywhere_and_an_operator_resolves_it(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, smtp: SmtpSink, api_url: str
) -> None:
    tid = await tenant_with_window(owner, db, secret_key, 0)
    again, delivered = [await factories.waiting_draft(db, client, tid) for _ in range(2)]
    token = await factories.token(db, tid, "operator", "ana")
    async with http(api_url, token) as h:
        for d in (again, delivered):
            smtp.hang_up_after_data = 1  # the message is taken, then the line drops before the server's 250
            assert (await h.post(f"/v1/drafts/{d.id}/send")).status_code == 200
            shown = await eventually(lambda d=d: status_is(h, d.id, "delivery_uncertain"))  # type: ignore[misc]
            assert "Message-ID" in shown["delivery_note"] and "resolve" in shown["delivery_note"]
        smtp.hang_up_after_data = 0
        listed = (await h.get("/v1/drafts", params={"status": "delivery_uncertain"})).json()
        assert {x["id"] for x in listed["items"]} == {again.id, delivered.id}
        assert await search_status(client, again.workflow_id) == "delivery_uncertain"
        metrics = (await h.get("/metrics")).text
        assert f'renewals_drafts{{status="delivery_uncertain",tenant="{tid}"}} 2.0' in metrics
        refused = await h.post(f"/v1/drafts/{again.id}/send")
        assert refused.status_code == 409 and "resolve it first" in refused.json()["detail"]

        r = await h.post(f"/v1/drafts/{again.id}/resolve", json={"outcome": "send_again"})
        assert (r.status_code, r.json()["outcome"]) == (200, "resolved"), r.text
        r = await h.post(f"/v1/drafts/{delivered.id}/resolve", json={"outcome": "delivered"})
        assert (r.status_code, r.json()["status"]) == (200, "sent"), r.text
        await eventually(lambda: status_is(h, again.id, "sent"))
        assert (await h.get(f"/v1/drafts/{delivered.id}")).json()["status"] == "sent"
        assert (await h.post(f"/v1/drafts/{delivered.id}/resolve", json={"outcome": "delivered"})).status_code in (
            200,  # the same update id answers with its first outcome
            409,
        )
    assert len(emails_of(smtp, again.id)) == 2  # the one the line dropped on, and the one sent again
    assert len(emails_of(smtp, delivered.id)) == 1
    assert (await audit_actions(db, tid, delivered.id))[-1] == "draft.delivery_resolved"
    assert (await audit_actions(db, tid, again.id))[-2:] == ["draft.delivery_resolved", "draft.sent"]
    assert await client.get_workflow_handle(delivered.workflow_id).result() == "sent"
    await record_history(client, again.workflow_id, "approval_uncertain_sent_again_v2")


async def test_a_refused_delivery_says_nothing_went_out_and_send_works_again(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, smtp: SmtpSink, api_url: str
) -> None:
    tid = await tenant_with_window(owner, db, secret_key, 0)
    d = await factories.waiting_draft(db, client, tid)
    token = await factories.token(db, tid, "operator", "ana")
    async with http(api_url, token) as h:
        smtp.reject_data = 1  # 554: a definite no, nothing delivered
        assert (await h.post(f"/v1/drafts/{d.id}/send")).status_code == 200
        shown = await eventually(lambda: status_is(h, d.id, "delivery_failed"))
        assert shown["delivery_note"].startswith("Nothing went out")
        assert await search_status(client, d.workflow_id) == "delivery_failed"
        r = await h.post(f"/v1/drafts/{d.id}/send")  # a new round: a new decision, delivered
        assert (r.status_code, r.json()["outcome"]) == (200, "sending"), r.text
        await eventually(lambda: status_is(h, d.id, "sent"))
    assert len(emails_of(smtp, d.id)) == 1


async def test_an_attempt_that_never_reached_data_is_taken_over_and_cannot_send_later(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, smtp: SmtpSink, api_url: str
) -> None:
    """The state a worker killed while SMTP stalled leaves behind: the claim held by an attempt that never reached
    DATA. Nothing could have gone out, so the next attempt takes over and delivers; the stalled one, should it
    wake, is refused at DATA. (The kill itself is in make chaos; here the ledger is put in the state it leaves.)"""
    tid = await tenant_with_window(owner, db, secret_key, 0)
    d = await factories.waiting_draft(db, client, tid)
    stalled = uuid.uuid4().hex
    async with db.tenant(tid) as conn:
        assert await drafts.claim_send(conn, tid, d.id, "<m@x>", stalled) == (None, None)
    token = await factories.token(db, tid, "operator", "ana")
    async with http(api_url, token) as h:
        assert (await h.post(f"/v1/drafts/{d.id}/send")).status_code == 200
        await eventually(lambda: status_is(h, d.id, "sent"))
    assert len(emails_of(smtp, d.id)) == 1
    async with db.tenant(tid) as conn:
        assert not await drafts.start_data(conn, d.id, stalled)  # the stalled attempt may not hand it over now

    # Two live attempts race for DATA: exactly one gets it, and a third finds DATA begun (uncertain, never resent).
    other = await factories.draft(db, tid)
    async with db.tenant(tid) as conn:
        a, b = uuid.uuid4().hex, uuid.uuid4().hex
        assert await drafts.claim_send(conn, tid, other.id, "<m@x>", a) == (None, None)
        assert await drafts.claim_send(conn, tid, other.id, "<m@x>", b) == (None, "sending")  # a never reached DATA
        assert not await drafts.start_data(conn, other.id, a)
        assert await drafts.start_data(conn, other.id, b)
        assert await drafts.claim_send(conn, tid, other.id, "<m@x>", uuid.uuid4().hex) == ("sending", None)


async def test_an_edit_waits_for_a_send_in_progress_and_is_then_refused(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, api_url: str
) -> None:
    """#13 item 13: an edit and a send arriving together are applied one after the other, never interleaved: the
    send decides on one version, and the edit either lands before it (and is what is sent) or is refused."""
    tid = await tenant_with_window(owner, db, secret_key, 5)
    d = await factories.waiting_draft(db, client, tid)
    token = await factories.token(db, tid, "operator", "ana")
    body = d.template_body.replace("Hello {{customer_name}} team,", "Good morning,")  # an edit is a template
    async with http(api_url, token) as h:
        edit, send = await asyncio.gather(
            h.post(f"/v1/drafts/{d.id}/edit", json={"subject": d.subject, "body": body}),
            h.post(f"/v1/drafts/{d.id}/send"),
        )
        assert send.status_code in (200, 409), send.text
        if send.status_code == 200 and edit.status_code == 200:  # the edit came first: the send names its version
            shown = (await h.get(f"/v1/drafts/{d.id}")).json()
            assert "Good morning," in shown["body"]
            assert send.json()["content_version"] == content_version(shown["subject"], shown["body"])
        elif send.status_code == 200:  # the send came first: the edit is refused, the version is the original
            assert edit.status_code == 409, edit.text
            assert send.json()["content_version"] == content_version(d.subject, d.body)
        else:  # the edit landed between the API's read and the send: refused as changed, nothing decided
            assert edit.status_code == 200
        await h.post(f"/v1/drafts/{d.id}/undo")


async def test_expected_refusals_are_one_quiet_line(
    owner: asyncpg.Connection,
    db: Database,
    secret_key: str,
    client: Client,
    api_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused decision on a live workflow (undo with nothing to undo, a skip of a draft being sent) is an
    expected answer: a 409 and one log line, never a traceback in the worker or the API."""
    tid = await tenant_with_window(owner, db, secret_key, 30)
    d = await factories.waiting_draft(db, client, tid)
    token = await factories.token(db, tid, "operator", "ana")
    caplog.set_level("INFO")
    async with http(api_url, token) as h:
        assert (await h.post(f"/v1/drafts/{d.id}/undo")).status_code == 409
        assert (await h.post(f"/v1/drafts/{d.id}/send")).status_code == 200
        assert (await h.post(f"/v1/drafts/{d.id}/skip", json={"reason": "x"})).status_code == 409
        assert (await h.post(f"/v1/drafts/{d.id}/undo")).status_code == 200
    assert not [r for r in caplog.records if r.exc_info or r.levelname in ("WARNING", "ERROR")], [
        r.getMessage() for r in caplog.records if r.exc_info or r.levelname in ("WARNING", "ERROR")
    ]
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 2


async def test_a_send_refused_for_an_edit_that_landed_first_can_be_pressed_again(
    owner: asyncpg.Connection, db: Database, secret_key: str, client: Client, smtp: SmtpSink, api_url: str
) -> None:
    """Found by make chaos (#13 item 13): a send that read the draft just before an edit landed is refused as
    changed. Pressing Send again reused that refused decision's update id, so Temporal answered with the same
    refusal every time and the draft could never be sent. A send of the new text is a new decision."""
    tid = await tenant_with_window(owner, db, secret_key, 0)
    d = await factories.waiting_draft(db, client, tid)
    token = await factories.token(db, tid, "operator", "ana")
    stale = await load(db, tid, d.id)  # what the racing send read, before the edit
    body = d.template_body.replace("Hello {{customer_name}} team,", "Good morning,")
    async with http(api_url, token) as h:
        assert (await h.post(f"/v1/drafts/{d.id}/edit", json={"subject": d.subject, "body": body})).status_code == 200
        seen = content_version(stale.subject, stale.body)
        with pytest.raises(WorkflowUpdateFailedError):  # the racing send, as the API would have sent it
            await client.get_workflow_handle(d.workflow_id).execute_update(
                ApprovalWorkflow.send,
                SendRequest(operator="ana", content_version=seen, undo_window_s=0),
                id=send_update_id(stale, seen),
            )
        again = await h.post(f"/v1/drafts/{d.id}/send")
        assert (again.status_code, again.json()["outcome"]) == (200, "sending"), again.text
        await eventually(lambda: status_is(h, d.id, "sent"))
    [payload] = emails_of(smtp, d.id)
    assert "Good morning," in payload
