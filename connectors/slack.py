"""Slack: the customer's shared channel, read with conversations.history (cursor pagination, newest first).

One conversations.history call per customer per 200 messages of the look-back window (`LOOKBACK_DAYS`); no
other method is called. Rules are pure functions over the wire-format messages, with offline keyword rules:

- champion quiet: the champion (the channel's `champion_user` if the workspace sets one, else the most frequent
  human poster) has not written for >= 30 days -> champion_status negative (>= 60 days: more so);
- churn talk: export, cancelling the service or not renewing (not cancelling a meeting, call or invite),
  competitor / evaluating / switching, pricing (unless it is expansion talk) -> support_sentiment negative,
  one item per message;
- trouble: outage, down, slow, not answered, bug -> support_sentiment negative;
- unanswered questions: a question with no thread reply after a day -> support_sentiment negative;
- handover: "taking over from X, who left the company" -> champion_status negative;
- expansion talk: seats, higher limits, enterprise plan, roll out to another team -> usage_trend positive;
- thanks -> mild support_sentiment positive (at most one item).

Slack reports API errors as HTTP 200 with {"ok": false, "error": ...}: invalid_auth / not_authed /
account_inactive / token_revoked are credentials rejected (non-retryable), ratelimited (HTTP 429) is retryable
after Retry-After, 5xx retryable; channel_not_found and a malformed message are that customer's error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.exceptions import ApplicationError

from connectors.errors import classify_http, parse_retry_after
from connectors.hubspot import MalformedRecord, Result
from core.blocks import escape
from schemas.evidence import CustomerProfile, EvidenceItem, Factor

LINK = "slack_channel_id"
REPORT_EVENT = "renewals_report"  # message metadata on every report we post: how a retry finds an earlier post
LOOKBACK_DAYS = 120
PAGE = 200
MAX_PAGES = 10  # at most 2,000 messages per channel per scan
QUIET_DAYS, VERY_QUIET_DAYS = 30, 60
UNANSWERED_AFTER_DAYS = 1
AUTH_ERRORS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
    "not_allowed_token_type",
}
CUSTOMER_ERRORS = {"channel_not_found", "not_in_channel", "is_archived"}

# Cancel talk is about the service: cancelling the subscription, contract or plan, cancelling at renewal,
# not renewing. Cancelling a meeting, call or invite is ordinary work, so a meeting word within the next five
# words (or "late"/"last-minute" before "cancellation") rules an occurrence out; a bare "cancel" counts only
# after a statement of intent ("we plan to cancel.", "how do we cancel?"), not in "can we cancel tomorrow's
# sync?".
_MEETING = (
    r"(?:meeting|sync|call|invite|invitation|demo|session|stand-?up|check-?in|catch-?up|appointment|"
    r"webinar|workshop|training|kick-?off|qbr|huddle|1:1|one-on-one|interview|event|lunch)s?"
)
_NO_MEETING_NEXT = rf"(?!(?:\s+[\w'’:-]+){{0,4}}?\s+{_MEETING}\b)"
_CANCEL = r"cancel(?:s|l?ed|l?ing)?"
_SERVICE = (
    r"(?:subscriptions?|contracts?|accounts?|plans?|licen[cs]es?|seats?|renewal|services?|workspace|"
    r"membership|term|agreement)"
)
_INTENT = (
    r"(?:plan|plans|planning|going|want|wants|decided|decide|need|needs|have|intend|intending|"
    r"considering|thinking\ about|looking|like|we['’]ll|we\ will|we\ are|we['’]re|"
    r"how\ (?:do|can|would|should)\ (?:we|i)|how\ to)"
)
_STOPS = r"(?:at|before|after|when|once|if|by|now|soon)"
_NOT_RENEWING = r"(?:be|going|planning|plan|intend|intending|looking|want|wanting|able|to)"
CANCEL_TALK = re.compile(
    rf"""
    # how cancellation works; the cancellation policy
    (?<!late\ )(?<!minute\ )\bcancell?ations?\b {_NO_MEETING_NEXT}
    # cancel our subscription; cancel at renewal; cancel at the end of the term
  | \b{_CANCEL}\b {_NO_MEETING_NEXT} (?:\s+[\w'’:-]+){{0,5}}? \s+{_SERVICE}\b
    # the subscription was cancelled; we plan to cancel
  | \b{_SERVICE}\s+(?:(?:is|was|will|be|been|has|have|got|being|getting|to)\s+){{0,3}}
      {_CANCEL}\b {_NO_MEETING_NEXT}
    # we want to cancel. how do we cancel? we'll cancel before ...
  | \b{_INTENT}\s+(?:to\s+)?{_CANCEL}\b (?=\s*(?:[.?!,;]|$)|\s+{_STOPS}\b)
    # not renewing; won't renew; decided not to renew
  | (?:\bnot|n['’]t|\bnever|\bno\s+plans?\s+to|\bagainst)\s+(?:{_NOT_RENEWING}\s+){{0,3}}renew(?:ing)?\b
""",
    re.I | re.X,
)

# (kind, factor, signal, pattern, description). Checked in order; expansion talk wins over a pricing mention.
RULES: list[tuple[str, Factor, float, re.Pattern[str], str]] = [
    (
        "champion_handover",
        "champion_status",
        -0.5,
        re.compile(r"\b(left the company|taking over from|no longer with (us|the company))\b", re.I),
        "says the previous owner has left",
    ),
    (
        "expansion_talk",
        "usage_trend",
        0.35,
        re.compile(
            r"\b(add(ing)? (more )?seats|more seats|extra seats|higher limits?|enterprise plan|"
            r"upgrade|roll(ing)? (this |it )?out to|quota)\b",
            re.I,
        ),
        "asks about growing",
    ),
    ("export_request", "support_sentiment", -0.5, re.compile(r"\bexport(ing)?\b", re.I), "asks about exporting data"),
    ("cancel_talk", "support_sentiment", -0.7, CANCEL_TALK, "talks of cancelling or not renewing"),
    (
        "competitor_talk",
        "support_sentiment",
        -0.6,
        re.compile(r"\b(competitor\w*|evaluating|alternatives?|switch(ing)? to)\b", re.I),
        "mentions a competitor",
    ),
    (
        "pricing_question",
        "support_sentiment",
        -0.2,
        re.compile(r"\b(pricing|price|discount)\b", re.I),
        "asks about pricing",
    ),
    (
        "service_trouble",
        "support_sentiment",
        -0.35,
        re.compile(r"\b(outage|is down|went down|slow|hasn't answered|has not answered|no answer|broken|bug)\b", re.I),
        "reports trouble",
    ),
]
THANKS = re.compile(r"\b(thanks|thank you|love[sd]?|great)\b", re.I)


def _day(ts: str) -> dt.date:
    return dt.datetime.fromtimestamp(float(ts), dt.UTC).date()


def _check(msg: Any, channel: str) -> dict[str, Any]:
    if not isinstance(msg, dict) or not msg.get("ts"):
        raise MalformedRecord(f"Slack channel {channel} has a message without a ts")
    try:
        float(msg["ts"])
    except (TypeError, ValueError):
        raise MalformedRecord(f"Slack message {channel}/{msg['ts']} has an unreadable ts") from None
    if "text" not in msg:
        raise MalformedRecord(f"Slack message {channel}/{msg['ts']} has no text")
    return msg


def _human(m: dict[str, Any]) -> bool:
    return bool(m.get("user")) and not m.get("bot_id") and m.get("subtype") in (None, "thread_broadcast")


def find_champion(messages: list[dict[str, Any]], channel_info: dict[str, Any] | None = None) -> str | None:
    if channel_info and channel_info.get("champion_user"):
        return str(channel_info["champion_user"])
    counts = Counter(m["user"] for m in messages if _human(m))
    if not counts:
        return None
    top = max(counts.values())
    # ties go to whoever wrote most recently (messages are newest first)
    return next(m["user"] for m in messages if _human(m) and counts[m["user"]] == top)


def channel_signals(
    channel: str,
    messages: list[dict[str, Any]],
    run_date: dt.date,
    champion: str | None = None,
    channel_info: dict[str, Any] | None = None,
) -> list[EvidenceItem]:
    """Signals from one channel's top-level messages (newest first, as conversations.history returns them)."""
    msgs = [_check(m, channel) for m in messages]
    msgs = [m for m in msgs if _day(m["ts"]) <= run_date]
    items: list[EvidenceItem] = []
    champ = champion or find_champion(msgs, channel_info)
    if champ:
        theirs = [m for m in msgs if m.get("user") == champ]
        if theirs:
            last = theirs[0]
            quiet = (run_date - _day(last["ts"])).days
            if quiet >= QUIET_DAYS:
                items.append(
                    EvidenceItem(
                        source_id=f"slack:{channel}:{last['ts']}",
                        kind="champion_quiet_in_slack",
                        factor="champion_status",
                        signal=-0.45 if quiet >= VERY_QUIET_DAYS else -0.3,
                        summary=f"The champion <@{champ}> last wrote in the shared channel {quiet} days ago",
                        facts={"user": champ, "days_quiet": quiet, "last_message_on": _day(last["ts"]).isoformat()},
                        observed_on=_day(last["ts"]),
                    )
                )
    thanked = False
    for m in msgs:
        if not _human(m):
            continue
        text, sid, day = str(m.get("text") or ""), f"slack:{channel}:{m['ts']}", _day(m["ts"])
        quote = text if len(text) <= 160 else text[:157] + "..."
        for kind, factor, signal, pattern, what in RULES:
            if pattern.search(text):
                items.append(
                    EvidenceItem(
                        source_id=sid,
                        kind=kind,
                        factor=factor,
                        signal=signal,
                        summary=f'<@{m["user"]}> {what} on {day}: "{quote}"',
                        facts={"user": m["user"], "text": quote},
                        observed_on=day,
                    )
                )
                break
        else:
            if not thanked and THANKS.search(text):
                thanked = True
                items.append(
                    EvidenceItem(
                        source_id=sid,
                        kind="thanks",
                        factor="support_sentiment",
                        signal=0.15,
                        summary=f'<@{m["user"]}> thanked the team on {day}: "{quote}"',
                        facts={"user": m["user"], "text": quote},
                        observed_on=day,
                    )
                )
        waiting = (run_date - day).days
        if "?" in text and not int(m.get("reply_count") or 0) and waiting >= UNANSWERED_AFTER_DAYS:
            items.append(
                EvidenceItem(
                    source_id=sid,
                    kind="question_unanswered",
                    factor="support_sentiment",
                    signal=-0.4 if waiting >= 7 else -0.2,
                    summary=f'A question from <@{m["user"]}> has had no reply for {waiting} days: "{quote}"',
                    facts={"user": m["user"], "days_waiting": waiting, "text": quote},
                    observed_on=day,
                )
            )
    return items


def slack_error(e: SlackApiError) -> ApplicationError | None:
    """A vendor-wide failure as a Temporal error; None for an error that belongs to one channel."""
    resp = e.response
    code = str(resp.get("error") if hasattr(resp, "get") else "") or "unknown_error"
    status = getattr(resp, "status_code", None)
    retry = parse_retry_after(
        (getattr(resp, "headers", None) or {}).get("Retry-After")
        or (getattr(resp, "headers", None) or {}).get("retry-after")
    )
    if status == 429 or code == "ratelimited":
        return classify_http("slack", 429, code, retry)
    if code in AUTH_ERRORS:
        return classify_http("slack", 401, code)
    if status and status >= 500 or code in ("fatal_error", "internal_error", "service_unavailable", "request_timeout"):
        return classify_http("slack", status if status and status >= 500 else 503, code, retry)
    if code in CUSTOMER_ERRORS:
        return None
    return classify_http("slack", 400, code)


class SlackSource:
    """slack_sdk's AsyncWebClient. Connection errors and 5xx are left to Temporal's retry; a 429 is waited out
    here (the SDK's own handler, honouring Retry-After, up to `rate_limit_retries` times), because a chunk reads
    one channel per customer at under one request a second, and failing it would redo minutes of reads."""

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        timeout: int = 30,
        page: int = PAGE,
        pace: Callable[[], Awaitable[None]] | None = None,
        rate_limit_retries: int = 3,
    ) -> None:
        handlers = [AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)] if rate_limit_retries else []
        self.client = AsyncWebClient(
            token=token, base_url=base_url or "https://slack.com/api/", timeout=timeout, retry_handlers=handlers
        )
        self.page, self.pace = page, pace

    async def history(self, channel: str, oldest: dt.date) -> list[dict[str, Any]]:
        """Top-level messages since `oldest`, newest first, across pages."""
        since = str(dt.datetime.combine(oldest, dt.time(), dt.UTC).timestamp())
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            if self.pace:
                await self.pace()
            try:
                resp = await self.client.conversations_history(
                    channel=channel, limit=self.page, oldest=since, cursor=cursor
                )
            except SlackApiError:
                raise
            except Exception as e:  # aiohttp connection errors, timeouts
                raise classify_http("slack", None, f"{type(e).__name__}: {e}") from e
            out += list(resp.get("messages") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return out

    async def check(self) -> None:
        try:
            await self.client.auth_test()
        except SlackApiError as e:
            raise slack_error(e) or classify_http("slack", 400, str(e)) from e

    # ---- posting the reports, once ------------------------------------------------------------------------------

    async def _api(self, method: str, **kwargs: Any) -> Any:
        """One Web API call with every failure as a Temporal error; a channel problem names the fix."""
        if self.pace:
            await self.pace()
        try:
            return await getattr(self.client, method)(**kwargs)
        except SlackApiError as e:
            err = slack_error(e)
            if err is None:  # channel_not_found, not_in_channel, is_archived
                code = e.response.get("error")
                raise ApplicationError(
                    f"connector slack: cannot post to {kwargs.get('channel')}: {code}. Invite the Renewal Manager "
                    f"app to the channel, or set slack_channel in PUT /v1/settings",
                    type="SlackChannelUnavailable",
                    non_retryable=True,
                ) from e
            raise err from e
        except Exception as e:  # aiohttp connection errors, timeouts
            raise classify_http("slack", None, f"{type(e).__name__}: {e}") from e

    async def channel_id(self, channel: str) -> str:
        """`#name` or `name` to the channel's id (history needs the id); an id is returned as is."""
        name = channel.lstrip("#")
        if re.fullmatch(r"[CG][A-Z0-9]{6,}", name):
            return name
        cursor = None
        while True:
            resp = await self._api(
                "conversations_list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            found = next((c["id"] for c in resp.get("channels") or [] if c.get("name") == name), None)
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if found or not cursor:
                break
        if not found:
            raise ApplicationError(
                f"connector slack: channel {channel} not found, or the app cannot see it. Invite "
                f"the Renewal Manager app to it, or set slack_channel in PUT /v1/settings",
                type="SlackChannelUnavailable",
                non_retryable=True,
            )
        return str(found)

    async def find_marked(self, channel_id: str, marker: str, since: dt.datetime) -> str | None:
        """The ts of a message we posted with `marker` in its metadata since `since`, if any: a post that
        succeeded before its ts could be recorded."""
        cursor = None
        while True:
            resp = await self._api(
                "conversations_history",
                channel=channel_id,
                oldest=str(since.timestamp()),
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for m in resp.get("messages") or []:
                if ((m.get("metadata") or {}).get("event_payload") or {}).get("report") == marker:
                    return str(m["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None

    async def post(self, channel_id: str, text: str, blocks: list[dict[str, Any]], marker: str) -> str:
        resp = await self._api(
            "chat_postMessage",
            channel=channel_id,
            text=escape(text)[:3000],
            blocks=blocks,
            metadata={"event_type": REPORT_EVENT, "event_payload": {"report": marker}},
        )
        return str(resp["ts"])


class SlackConnector:
    """`await SlackConnector(source).gather(customers, run_date)` -> {customer_id: (evidence, error or None)}."""

    def __init__(self, source: SlackSource, lookback_days: int = LOOKBACK_DAYS) -> None:
        self.source, self.lookback = source, lookback_days

    async def gather(self, customers: list[CustomerProfile], run_date: dt.date) -> Result:
        out: Result = {}
        oldest = run_date - dt.timedelta(days=self.lookback)
        for c in customers:  # sequential: Slack's Tier 3 allows ~50 calls a minute, so parallelism buys nothing
            channel = c.links.get(LINK)
            if not channel:
                out[c.customer_id] = ([], f"no Slack channel linked (Stripe metadata {LINK} is empty)")
                continue
            try:
                messages = await self.source.history(channel, oldest)
                out[c.customer_id] = (channel_signals(channel, messages, run_date), None)
            except SlackApiError as e:
                err = slack_error(e)
                if err is not None:
                    raise err from e
                out[c.customer_id] = ([], f"slack: channel {channel}: {e.response.get('error')}")
            except (MalformedRecord, KeyError, TypeError, ValueError) as e:
                out[c.customer_id] = ([], f"slack: {e}")
        return out
