"""Slack: the customer's shared channel, read with conversations.history (cursor pagination, newest first).

One conversations.history call per customer per 200 messages of the look-back window (`LOOKBACK_DAYS`), one
auth.test per gather when the connector's config lacks the tenant's own team id (stored at connect time), and
users.info only for a poster whose messages lack the Slack Connect team stamp. Rules are pure functions over the
wire-format messages (connectors/slack_voice.py reads each message):

- only the customer's side counts: a message stamped with the tenant's own team (`user_team`/`team`), or from a
  user of that team or of another email domain than the customer's, is the vendor talking;
- champion quiet: the champion (the channel's `champion_user` if the workspace sets one, else the customer's
  most frequent poster) has not written for >= 30 days -> champion_status negative (>= 60 days: more so);
- intent: cancelling, not renewing or letting the contract end; exporting the data; another vendor; the price
  (unless it is an ask to grow) -> support_sentiment negative, one item per message;
- trouble: outages, slowness, errors, unanswered tickets -> support_sentiment negative;
- unanswered questions: a customer question (not an ask to grow) of the last 30 days with no thread reply after a
  day -> negative (the latest three at most);
- handover: the champion left, someone took over -> champion_status negative;
- asks to grow: more seats / licences / users (a number next to them), a bigger plan -> usage_trend positive;
- tone (VADER): the latest clearly positive message with no other reading -> mild support_sentiment
  positive (at most one item); a clearly negative one -> support_sentiment negative.

Slack reports API errors as HTTP 200 with {"ok": false, "error": ...}: invalid_auth / not_authed /
account_inactive / token_revoked are credentials rejected (non-retryable), ratelimited (HTTP 429) is retryable
after Retry-After, 5xx retryable; channel_not_found and a malformed message are that customer's error.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.exceptions import ApplicationError

from connectors.errors import classify_http, parse_retry_after
from connectors.hubspot import MalformedRecord, Result
from connectors.slack_voice import CANCEL_TALK as CANCEL_TALK  # re-exported: tests and callers know it here
from connectors.slack_voice import intent, side, tone
from core.blocks import escape
from core.freshness import LATEST_WORD
from schemas.evidence import CustomerProfile, EvidenceItem, Factor

LINK = "slack_channel_id"
REPORT_EVENT = "renewals_report"  # message metadata on every report we post: how a retry finds an earlier post
LOOKBACK_DAYS = 120
PAGE = 200
MAX_PAGES = 10  # at most 2,000 messages per channel per scan
SWEEP_DAYS = 14  # with the Events API on, each channel is still read from Slack at least this often (2,000
# channels: ~143 reads a day, 3.2 minutes at Tier 3 pace; at 10 it was 220 reads, 292 s, too close to 5 minutes)
QUIET_DAYS, VERY_QUIET_DAYS = 30, 60
UNANSWERED_AFTER_DAYS = 1
# Only recent questions, and the latest few: an old one was likely answered outside its thread, and a factor is
# clamped at -1 anyway, so a busy channel's backlog adds nothing but noise to the evidence.
UNANSWERED_WITHIN_DAYS, MAX_UNANSWERED = 30, 3
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

# (kind, factor, signal, description) for each intent slack_voice reads.
RULES: dict[str, tuple[str, Factor, float, str]] = {
    "handover": ("champion_handover", "champion_status", -0.5, "says the previous owner has left"),
    "expansion": ("expansion_talk", "usage_trend", 0.35, "asks about growing"),
    "export": ("export_request", "support_sentiment", -0.5, "asks about exporting data"),
    "cancel": ("cancel_talk", "support_sentiment", -0.7, "talks of cancelling or not renewing"),
    "competitor": ("competitor_talk", "support_sentiment", -0.6, "mentions another vendor"),
    "pricing": ("pricing_question", "support_sentiment", -0.2, "pushes back on the price"),
    "trouble": ("service_trouble", "support_sentiment", -0.35, "reports trouble"),
}
WARM, COLD = 0.42, -0.5  # VADER compound: clearly positive or negative (set on the tuning phrasings)


def day_ts(day: dt.date) -> str:
    return str(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


def due_for_read(channel: str, last_read: dt.date | None, run_date: dt.date, events_on: bool) -> bool:
    """Whether a scan reads this channel from Slack, or derives its signals from the messages kept (issue #14).
    Without the Events API every channel is read each day (incrementally, from its cursor). With it, new messages
    arrive as events, and a channel is still read every SWEEP_DAYS, on its own day (spread by a hash of its id, so
    the reads do not fall on one day): a missed event is healed by that read, at most SWEEP_DAYS late."""
    if not events_on or last_read is None or (run_date - last_read).days >= SWEEP_DAYS:
        return True
    return zlib.crc32(channel.encode()) % SWEEP_DAYS == run_date.toordinal() % SWEEP_DAYS


def merge(kept: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Kept and newly read messages, one per ts (the new copy wins), newest first as Slack returns them."""
    by_ts = {str(m.get("ts")): m for m in kept} | {str(m.get("ts")): m for m in new}
    return sorted(by_ts.values(), key=lambda m: _sort_ts(m.get("ts")), reverse=True)


def _sort_ts(ts: Any) -> float:
    try:
        return float(ts)
    except (TypeError, ValueError):
        return 0.0  # a malformed one sorts last; _check names it


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


Users = dict[str, dict[str, Any]]


def customer_side(
    messages: list[dict[str, Any]], own_team: str | None, users: Users | None, customer_domain: str | None
) -> list[dict[str, Any]]:
    """The human messages the customer's side wrote. A message without a team stamp takes the team stamped on
    another of its poster's messages here: the connector asks users.info only for posters with no stamped
    message at all, so without this a vendor's unstamped message fell through to "the customer"."""
    users = users or {}
    stamps = {
        m.get("user"): m.get("user_team") or m.get("team") for m in messages if m.get("user_team") or m.get("team")
    }
    return [
        m
        for m in messages
        if _human(m)
        and side(m, own_team, users.get(str(m["user"])), customer_domain, stamps.get(m.get("user"))) == "customer"
    ]


def find_champion(messages: list[dict[str, Any]], channel_info: dict[str, Any] | None = None) -> str | None:
    if channel_info and channel_info.get("champion_user"):
        return str(channel_info["champion_user"])
    counts = Counter(m["user"] for m in messages if _human(m))
    if not counts:
        return None
    top = max(counts.values())
    # ties go to whoever wrote most recently (messages are newest first)
    return str(next(m["user"] for m in messages if _human(m) and counts[m["user"]] == top))


MAX_VOICES_CHECKED = 2


def voices_to_check(
    messages: list[dict[str, Any]], own_team: str | None, users: Users | None, customer_domain: str | None
) -> list[str]:
    """The customer side's main voices when someone else has written since: the one case worth a users.info to
    see whether a champion's account has been deactivated (at most MAX_VOICES_CHECKED calls per such channel per
    read; a kept record may predate the departure, so each is asked afresh). A main voice is a poster, other than
    the latest one, with at least as many messages as the latest; the most frequent first, then the one silent
    longest (a newcomer who has written as often as the old champion must not hide them)."""
    theirs = sorted(customer_side(messages, own_team, users, customer_domain), key=lambda m: -_sort_ts(m["ts"]))
    if not theirs:
        return []
    counts, latest = Counter(str(m["user"]) for m in theirs), str(theirs[0]["user"])
    last_said = {str(m["user"]): _sort_ts(m["ts"]) for m in reversed(theirs)}  # each poster's newest message
    earlier = [u for u in counts if u != latest and counts[u] >= counts[latest]]
    return sorted(earlier, key=lambda u: (-counts[u], last_said[u]))[:MAX_VOICES_CHECKED]


def _departed(channel: str, champ: str, user: dict[str, Any] | None, said: list[dict[str, Any]]) -> list[EvidenceItem]:
    """A main voice of the customer's side (voices_to_check), whose Slack account is deactivated (`deleted`, as
    users.info reports a member their workspace removed), has left: read from the account, not from how anyone
    words the news (issue #12: a departure only a Slack message told was missed when the message was worded in a
    way the rules do not know)."""
    if not (user and user.get("deleted") and said):
        return []
    name = str((user.get("profile") or {}).get("real_name") or user.get("real_name") or champ)
    return [
        EvidenceItem(
            source_id=f"slack:{channel}:{said[0]['ts']}",
            kind="champion_left",
            factor="champion_status",
            signal=-0.8,
            summary=f"<@{champ}> ({name}), a main voice of the customer in the channel, is gone: their Slack "
            "account has been deactivated",
            facts={"user": champ, "deactivated": True, "last_message_on": _day(said[0]["ts"]).isoformat()},
            observed_on=_day(said[0]["ts"]),
        )
    ]


def _said(m: dict[str, Any], channel: str, kind: str, factor: Factor, signal: float, what: str) -> EvidenceItem:
    text, day = str(m.get("text") or ""), _day(m["ts"])
    quote = text if len(text) <= 160 else text[:157] + "..."
    return EvidenceItem(
        source_id=f"slack:{channel}:{m['ts']}",
        kind=kind,
        factor=factor,
        signal=signal,
        summary=f'<@{m["user"]}> {what} on {day}: "{quote}"',
        facts={"user": m["user"], "text": quote},
        observed_on=day,
    )


BURST_SECONDS = 120  # posts by one person this close together are one message, sent in pieces


def bursts(theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The customer's messages as they were meant (newest first): consecutive posts by the same person within
    BURST_SECONDS joined into one, as people in Slack send one thought in two or three posts ("can we add" /
    "25 seats before monday?"). The joined message keeps the first post's ts (its source id) and counts as
    answered if any piece got a thread reply (issue #12, tuning noise: a question split in two read as an
    unanswered one and an ask whose seat word fell in the second post was missed)."""
    out: list[dict[str, Any]] = []
    for m in sorted(theirs, key=lambda m: _sort_ts(m["ts"])):
        prev = out[-1] if out else None
        if prev and prev.get("user") == m.get("user") and 0 <= _sort_ts(m["ts"]) - prev["_last"] <= BURST_SECONDS:
            prev["text"] = f"{prev.get('text') or ''}\n{m.get('text') or ''}"
            prev["reply_count"] = max(int(prev.get("reply_count") or 0), int(m.get("reply_count") or 0))
            prev["_last"] = _sort_ts(m["ts"])
        else:
            out.append({**m, "_last": _sort_ts(m["ts"])})
    return [{k: v for k, v in m.items() if k != "_last"} for m in reversed(out)]


def channel_signals(
    channel: str,
    messages: list[dict[str, Any]],
    run_date: dt.date,
    champion: str | None = None,
    channel_info: dict[str, Any] | None = None,
    own_team: str | None = None,
    users: Users | None = None,
    customer_domain: str | None = None,
) -> list[EvidenceItem]:
    """Signals from one channel's top-level messages (newest first, as conversations.history returns them), the
    customer's side only: `own_team` is the tenant's Slack team id, `users` the posters' users.info records
    (for messages without a team stamp), `customer_domain` the customer's email domain."""
    msgs = [_check(m, channel) for m in messages]
    msgs = [m for m in msgs if _day(m["ts"]) <= run_date]
    theirs = customer_side(msgs, own_team, users, customer_domain)
    items: list[EvidenceItem] = []
    for was in voices_to_check(msgs, own_team, users, customer_domain):
        items += _departed(channel, was, (users or {}).get(was), [m for m in msgs if m.get("user") == was])
        if items:
            break
    champ = champion or find_champion(theirs, channel_info)
    if champ:
        said = [m for m in msgs if m.get("user") == champ]
        if said and not items:
            last = said[0]
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
    warmest: tuple[float, dict[str, Any]] | None = None
    unanswered = 0
    for m in bursts(theirs):
        text, day = str(m.get("text") or ""), _day(m["ts"])
        wants = intent(text)
        mood = tone(text)
        if wants is not None:
            items.append(_said(m, channel, *RULES[wants]))
        elif mood <= COLD:
            items.append(_said(m, channel, "negative_tone", "support_sentiment", -0.2, "sounds unhappy"))
        elif mood >= WARM and warmest is None:  # the latest warm word, as the freshest
            warmest = (mood, m)
        waiting = (run_date - day).days
        if "?" in text and wants != "expansion" and not int(m.get("reply_count") or 0) and unanswered < MAX_UNANSWERED:
            if UNANSWERED_AFTER_DAYS <= waiting <= UNANSWERED_WITHIN_DAYS:
                unanswered += 1
                quote = text if len(text) <= 160 else text[:157] + "..."
                items.append(
                    EvidenceItem(
                        source_id=f"slack:{channel}:{m['ts']}",
                        kind="question_unanswered",
                        factor="support_sentiment",
                        signal=-0.4 if waiting >= 7 else -0.2,
                        summary=f'A question from <@{m["user"]}> has had no reply for {waiting} days: "{quote}"',
                        facts={"user": m["user"], "days_waiting": waiting, "text": quote},
                        observed_on=day,
                    )
                )
    if warmest is not None:
        items.append(_said(warmest[1], channel, "thanks", "support_sentiment", 0.15, "spoke warmly of the product"))
    if theirs:  # the customer's latest word in the channel: Slack's freshness clock (core.freshness)
        latest = max(_day(m["ts"]) for m in theirs).isoformat()
        items = [i.model_copy(update={"facts": {**i.facts, LATEST_WORD: latest}}) for i in items]
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


class SharedRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, with the retry paced like every other request: the tenant's shared pace is held for
    Retry-After (one process's 429 slows them all, not only the request refused), then the retry claims its slot
    after that, instead of the SDK's own sleep, which could land it beside another process's request."""

    def __init__(
        self, hold: Callable[[float], Awaitable[None]], pace: Callable[[], Awaitable[None]], max_retry_count: int
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.hold, self.pace = hold, pace

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        response = kwargs.get("response")
        if response is None:
            await super().prepare_for_next_attempt_async(**kwargs)  # raises the error, as the SDK's does
            return
        after = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        await self.hold(float(parse_retry_after(after[0] if isinstance(after, list) else after) or 1.0))
        await self.pace()
        state = kwargs["state"]
        state.next_attempt_requested = True
        state.increment_current_attempt()


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
        hold: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        handler: AsyncRetryHandler = (
            SharedRateLimitHandler(hold, pace, rate_limit_retries)
            if hold and pace
            else AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)
        )
        handlers: list[AsyncRetryHandler] = [handler] if rate_limit_retries else []
        self.client = AsyncWebClient(
            token=token, base_url=base_url or "https://slack.com/api/", timeout=timeout, retry_handlers=handlers
        )
        self.page, self.pace = page, pace

    async def history(self, channel: str, oldest: dt.date, after: str | None = None) -> list[dict[str, Any]]:
        """Top-level messages since `oldest`, or only those after the ts `after` (an incremental read from a
        channel's cursor: Slack's `oldest` is exclusive), newest first, across pages."""
        since = after or day_ts(oldest)
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
        await self.team_id()

    async def team_id(self) -> str | None:
        """The tenant's own Slack team (auth.test): messages stamped with it are the vendor's side."""
        if self.pace:
            await self.pace()
        try:
            resp = await self.client.auth_test()
        except SlackApiError as e:
            raise slack_error(e) or classify_http("slack", 400, str(e)) from e
        except Exception as e:  # aiohttp connection errors, timeouts
            raise classify_http("slack", None, f"{type(e).__name__}: {e}") from e
        return str(resp.get("team_id") or "") or None

    async def user(self, user_id: str) -> dict[str, Any]:
        """users.info, for a poster whose messages carry no team stamp; {} when Slack does not know the user."""
        if self.pace:
            await self.pace()
        try:
            resp = await self.client.users_info(user=user_id)
        except SlackApiError as e:
            if e.response.get("error") in ("user_not_found", "users_not_found"):
                return {}
            raise
        except Exception as e:  # aiohttp connection errors, timeouts
            raise classify_http("slack", None, f"{type(e).__name__}: {e}") from e
        return dict(resp.get("user") or {})

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

    async def update(self, channel_id: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a message we posted (a draft's review message, once the draft is decided)."""
        await self._api("chat_update", channel=channel_id, ts=ts, text=escape(text)[:3000], blocks=blocks)


def _domain(email: str | None) -> str | None:
    return email.rpartition("@")[2].lower() if email and "@" in email else None


@dataclass
class Kept:
    """What PostgreSQL keeps of a channel: its messages in the look-back window (newest first), the newest ts read
    from Slack (the cursor) and the scan day of that read."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None
    read_on: dt.date | None = None


class SlackConnector:
    """`await SlackConnector(source).gather(customers, run_date)` -> {customer_id: (evidence, error or None)}.
    `own_team` is the tenant's Slack team id as auth.test answered when it was connected; asked once per gather
    when the stored config predates it. With `kept` (per channel, from PostgreSQL) the reads are incremental:
    only what is new since each channel's cursor, and with `events_on` only the channels due_for_read; `read`
    then holds what each read brought, and `asked` the users.info records fetched, for the caller to keep."""

    def __init__(
        self,
        source: SlackSource,
        lookback_days: int = LOOKBACK_DAYS,
        own_team: str | None = None,
        kept: dict[str, Kept] | None = None,
        events_on: bool = False,
        users: Users | None = None,
    ) -> None:
        self.source, self.lookback, self.own_team = source, lookback_days, own_team
        self.users: Users = dict(users or {})  # users.info records known already (kept in PostgreSQL)
        self.asked: Users = {}  # those this gather asked Slack for, for the caller to keep
        self.kept, self.events_on = kept, events_on
        self.read: dict[str, tuple[list[dict[str, Any]], str | None]] = {}  # channel -> (new messages, cursor)

    async def _messages(self, channel: str, oldest: dt.date, run_date: dt.date) -> list[dict[str, Any]]:
        if self.kept is None:  # nothing kept between scans: the whole window, as before
            return await self.source.history(channel, oldest)
        kept = self.kept.get(channel) or Kept()
        if not due_for_read(channel, kept.read_on, run_date, self.events_on):
            return kept.messages
        new = await self.source.history(channel, oldest, after=kept.cursor)
        newest = max((str(m["ts"]) for m in new if isinstance(m, dict) and m.get("ts")), key=_sort_ts, default=None)
        self.read[channel] = (new, newest or kept.cursor or day_ts(oldest))
        return merge(kept.messages, new)

    async def _unstamped_users(self, messages: list[dict[str, Any]]) -> None:
        """users.info, once per gather, for each poster none of whose messages here carries a team stamp (one
        stamped message tells the poster's team for all of theirs)."""
        stamped = {m.get("user") for m in messages if m.get("user_team") or m.get("team")}
        for m in messages:
            uid = str(m.get("user") or "")
            if uid and uid not in self.users and uid not in stamped and _human(m):
                self.users[uid] = self.asked[uid] = await self.source.user(uid)

    async def gather(self, customers: list[CustomerProfile], run_date: dt.date) -> Result:
        out: Result = {}
        oldest = run_date - dt.timedelta(days=self.lookback)
        if self.own_team is None and customers:
            self.own_team = await self.source.team_id()
        for c in customers:  # sequential: Slack's Tier 3 allows ~50 calls a minute, so parallelism buys nothing
            channel = c.links.get(LINK)
            if not channel:
                out[c.customer_id] = ([], f"no Slack channel linked (Stripe metadata {LINK} is empty)")
                continue
            try:
                messages = await self._messages(channel, oldest, run_date)
                await self._unstamped_users(messages)
                read = self.kept is None or channel in self.read  # kept messages unread today: no new voice
                for was in voices_to_check(messages, self.own_team, self.users, _domain(c.email)) if read else []:
                    self.users[was] = self.asked[was] = await self.source.user(was)
                items = channel_signals(
                    channel,
                    messages,
                    run_date,
                    own_team=self.own_team,
                    users=self.users,
                    customer_domain=_domain(c.email),
                )
                out[c.customer_id] = (items, None)
            except SlackApiError as e:
                err = slack_error(e)
                if err is not None:
                    raise err from e
                out[c.customer_id] = ([], f"slack: channel {channel}: {e.response.get('error')}")
            except (MalformedRecord, KeyError, TypeError, ValueError) as e:
                out[c.customer_id] = ([], f"slack: {e}")
        return out
