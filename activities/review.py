"""The draft's review message in the tenant's Slack review channel: posted once when the draft starts waiting,
edited when the draft is decided — wherever the decision was made (the page, the API, the message's buttons)."""

from __future__ import annotations

import asyncio
import datetime as dt
from urllib.parse import quote

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from connectors.slack import SlackSource
from core.review import decided_review_blocks, draft_review_blocks, review_text
from core.secrets import decrypt
from db import drafts, slack, tenants
from db.pool import Database
from schemas.workflow_io import ReviewMessage

SLACK_WITHIN = dt.timedelta(seconds=60)  # under the activity's timeout and db.slack.REVIEW_LEASE


def inbox_url(base: str | None, draft_id: str) -> str:
    """The inbox page, opened on this draft (the page reads `#draft=`)."""
    return f"{(base or 'http://127.0.0.1:8000').rstrip('/')}/app/renewal_hunter/inbox#draft={quote(draft_id, safe='')}"


class ReviewActivities:
    def __init__(self, db: Database, secret_key: str) -> None:
        self.db, self.secret_key = db, secret_key

    async def _source(self, tenant_id: str) -> tuple[SlackSource, str, str | None] | None:
        async with self.db.tenant(tenant_id) as conn:
            where = await slack.review_channel(conn)
            connector = await tenants.get_connector(conn, tenant_id, "slack")
        if where is None or connector is None or connector["secret_ciphertext"] is None:
            return None
        source = SlackSource(
            decrypt(self.secret_key, connector["secret_ciphertext"]), connector["config"].get("api_base")
        )
        return source, where["review_channel"], where["inbox_base_url"]

    @activity.defn
    async def post_review(self, msg: ReviewMessage) -> str | None:
        """Post the draft's review message, exactly once: a recorded ts means done; the post is claimed first; a
        post whose ts was lost (a crash right after Slack took it) is found by its metadata. None when the tenant
        has no review channel or no Slack connected (nothing to do)."""
        found = await self._source(msg.tenant_id)
        if found is None:
            return None
        source, channel, base = found
        async with self.db.tenant(msg.tenant_id) as conn:
            draft = await drafts.draft_detail(conn, msg.draft_id)
            if draft is None:
                raise ApplicationError(f"draft {msg.draft_id} not found", type="DraftNotFound", non_retryable=True)
            claim = await slack.claim_review_post(conn, msg.tenant_id, msg.draft_id)
            done = None if claim else await slack.review_post(conn, msg.draft_id)
        if claim is None:
            if done is not None and done["ts"]:
                return str(done["ts"])
            raise ApplicationError(
                f"another attempt is posting the review message of {msg.draft_id}; this one will find its ts",
                type="PostInProgress",
                next_retry_delay=dt.timedelta(seconds=30),
                category=ApplicationErrorCategory.BENIGN,  # expected: one log line, no traceback
            )
        marker = f"{msg.tenant_id}/review/{msg.draft_id}"
        blocks = draft_review_blocks(
            msg.draft_id,
            draft["customer_name"],
            draft["classification"],
            draft["severity"],
            draft["subject"],
            inbox_url(base, msg.draft_id),
        )
        try:
            async with asyncio.timeout(SLACK_WITHIN.total_seconds()):
                channel_id = await source.channel_id(channel)
                # An earlier attempt may have posted and crashed before recording it: look (since well before
                # its lease began) — only then, as a busy review channel's history is long.
                since = claim["claimed_at"] - dt.timedelta(hours=1)
                earlier = None if claim["first"] else await source.find_marked(channel_id, marker, since)
                ts = earlier or await source.post(
                    channel_id, review_text(draft["customer_name"], draft["subject"]), blocks, marker
                )
        except TimeoutError as e:
            raise ApplicationError(f"Slack did not answer within {SLACK_WITHIN}", type="SlackTimeout") from e
        async with self.db.tenant(msg.tenant_id) as conn:
            await slack.review_posted(conn, msg.draft_id, channel_id, ts, "pending")
            await tenants.audit(
                conn, msg.tenant_id, "slack", "draft.review_posted", msg.draft_id, {"channel": channel_id, "ts": ts}
            )
        return ts

    @activity.defn
    async def show_review(self, msg: ReviewMessage) -> bool:
        """Edit the draft's review message to show its decision (its buttons go; an undo brings them back).
        False when there is no message to edit."""
        async with self.db.tenant(msg.tenant_id) as conn:
            post = await slack.review_post(conn, msg.draft_id)
            draft = await drafts.draft_detail(conn, msg.draft_id)
        if post is None or not post["ts"] or draft is None:
            return False
        if post["shown"] == msg.status:
            return True  # a retry after the edit was made
        found = await self._source(msg.tenant_id)
        if found is None:  # the review channel was turned off, or Slack disconnected, since the post
            return False
        source, _, base = found
        blocks = decided_review_blocks(
            msg.draft_id,
            draft["customer_name"],
            draft["classification"],
            draft["severity"],
            draft["subject"],
            inbox_url(base, msg.draft_id),
            msg.status,
            msg.operator or "an operator",
        )
        try:
            async with asyncio.timeout(SLACK_WITHIN.total_seconds()):
                text = review_text(draft["customer_name"], draft["subject"], msg.status)
                await source.update(post["channel_id"], post["ts"], text, blocks)
        except TimeoutError as e:
            raise ApplicationError(f"Slack did not answer within {SLACK_WITHIN}", type="SlackTimeout") from e
        async with self.db.tenant(msg.tenant_id) as conn:
            await slack.review_shown(conn, msg.draft_id, msg.status)
        return True
