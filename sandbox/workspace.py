"""A workspace folder read into memory, and the pure query logic the sandbox server answers with.

Everything here is plain functions over plain dicts (no HTTP), so paging, filters and the small SOQL dialect
can be tested and reasoned about on their own. The folder layout is described in sandbox/WORKSPACE.md; a
missing file is an empty collection, so a user can drop in only the exports they have.
"""

from __future__ import annotations

import base64
import json
import operator
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HUBSPOT_TYPES = {
    "company": "companies",
    "companies": "companies",
    "0-2": "companies",
    "deal": "deals",
    "deals": "deals",
    "0-3": "deals",
    "contact": "contacts",
    "contacts": "contacts",
    "0-1": "contacts",
}
SINGULAR = {"companies": "company", "deals": "deal", "contacts": "contact"}
# What HubSpot returns when a request names no `properties`: a connector that forgets to ask for a custom
# property (renewal_role, left_company) gets no value here either, as it would from HubSpot.
HUBSPOT_DEFAULT_PROPERTIES = {
    "companies": ["name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"],
    "deals": [
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ],
    "contacts": ["firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"],
}
HUBSPOT_ALWAYS = {"createdate", "hs_lastmodifieddate", "lastmodifieddate", "hs_object_id"}
# HUBSPOT_DEFINED association type ids for the unlabeled default association between two object types.
HUBSPOT_ASSOCIATION_TYPES = {
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
}


@dataclass
class Workspace:
    root: Path
    manifest: dict[str, Any]
    stripe: dict[str, list[dict[str, Any]]]  # customers/subscriptions/invoices, newest 1st
    stripe_by_id: dict[str, dict[str, Any]]
    stripe_by_customer: dict[str, dict[str, list[dict[str, Any]]]]  # kind -> customer -> newest first
    hubspot: dict[str, list[dict[str, Any]]]  # companies/deals/contacts, by id ascending
    hubspot_by_id: dict[str, dict[str, dict[str, Any]]]
    associations: dict[tuple[str, str], dict[str, list[str]]]  # (from type, to type) -> id -> ids
    salesforce: dict[str, list[dict[str, Any]]]  # sObject name -> records
    slack_channels: list[dict[str, Any]]
    slack_users: list[dict[str, Any]]
    _history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def key(self, vendor: str) -> str | None:
        return (self.manifest.get("keys") or {}).get(vendor)

    def history(self, channel: str) -> list[dict[str, Any]] | None:
        """A channel's messages (parents and thread replies), newest first; None for an unknown channel.
        Read on first use: a 10,000-customer workspace has 10,000 history files."""
        if channel not in self._history:
            if not any(c["id"] == channel for c in self.slack_channels):
                return None
            path = self.root / "slack" / "history" / f"{channel}.json"
            msgs = json.loads(path.read_text()) if path.exists() else []
            self._history[channel] = sorted(msgs, key=lambda m: ts_key(m["ts"]), reverse=True)
        return self._history[channel]


def load_workspace(folder: Path) -> Workspace:
    def read(rel: str, default: Any) -> Any:
        p = folder / rel
        return json.loads(p.read_text()) if p.exists() else default

    manifest = read("manifest.json", None)
    if manifest is None:
        raise FileNotFoundError(f"{folder} has no manifest.json: not a workspace (see sandbox/WORKSPACE.md)")
    newest_first = lambda o: (-int(o.get("created") or 0), o["id"])  # noqa: E731
    stripe = {
        name: sorted(read(f"stripe/{name}.json", []), key=newest_first)
        for name in ("customers", "subscriptions", "invoices")
    }
    hubspot = {
        name: sorted(read(f"hubspot/{name}.json", []), key=lambda o: (len(o["id"]), o["id"]))
        for name in ("companies", "deals", "contacts")
    }
    raw = read("hubspot/associations.json", {})
    assoc: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for to in ("deals", "contacts"):
        for company, ids in (raw.get(f"companies_to_{to}") or {}).items():
            for other in ids:
                assoc[("companies", to)][company].append(other)
                assoc[(to, "companies")][other].append(company)
    # Deals and contacts of one company are associated with each other, as a CRM user would have linked them.
    for company, deals in assoc[("companies", "deals")].items():
        for deal in deals:
            for contact in assoc[("companies", "contacts")].get(company, []):
                assoc[("deals", "contacts")][deal].append(contact)
                assoc[("contacts", "deals")][contact].append(deal)
    salesforce = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("salesforce/*.json"))}
    # Connectors read invoices customer by customer: an index keeps that from scanning every invoice.
    by_customer: dict[str, dict[str, list[dict[str, Any]]]] = {k: defaultdict(list) for k in stripe}
    for kind, objs in stripe.items():
        for o in objs:
            by_customer[kind][o.get("customer") or o["id"]].append(o)
    return Workspace(
        root=folder,
        manifest=manifest,
        stripe=stripe,
        stripe_by_id={o["id"]: o for objs in stripe.values() for o in objs},
        stripe_by_customer=by_customer,
        hubspot=hubspot,
        hubspot_by_id={t: {o["id"]: o for o in objs} for t, objs in hubspot.items()},
        associations=assoc,
        salesforce=salesforce,
        slack_channels=read("slack/channels.json", []),
        slack_users=read("slack/users.json", []),
    )


# ---- Stripe ---------------------------------------------------------------------------------------------


def stripe_filter(objs: list[dict[str, Any]], params: Mapping[str, str], *, kind: str) -> list[dict[str, Any]]:
    """`customer`, `subscription`, `status` equality, and `created` / `due_date` ranges (`created[gte]=...`).
    Subscriptions leave out canceled ones unless `status=all` (or `status=canceled`), as Stripe does."""
    for name in ("customer", "subscription"):
        if v := params.get(name):
            objs = [o for o in objs if o.get(name) == v]
    status = params.get("status")
    if kind == "subscriptions" and status in (None, ""):
        objs = [o for o in objs if o.get("status") not in ("canceled", "incomplete_expired")]
    elif status and status != "all":
        objs = [o for o in objs if o.get("status") == status]
    for name in ("created", "due_date"):
        if (v := params.get(name)) is not None and v.lstrip("-").isdigit():
            objs = [o for o in objs if o.get(name) == int(v)]
        for op in ("gte", "gt", "lte", "lt"):
            if (v := params.get(f"{name}[{op}]")) is not None:
                test = getattr(operator, {"gte": "ge", "lte": "le"}.get(op, op))
                objs = [o for o in objs if o.get(name) is not None and test(int(o[name]), int(v))]
    return objs


def stripe_page(
    objs: list[dict[str, Any]],
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    ids: dict[str, int] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of an already filtered, newest-first list (`ids`: its id → position, when kept); raises KeyError for
    a cursor not in the list."""
    ids = ids if ids is not None else {o["id"]: n for n, o in enumerate(objs)}
    cursor = ending_before or starting_after
    if cursor and cursor not in ids:
        raise KeyError(cursor)
    if ending_before:
        end = ids[ending_before]
        return objs[max(0, end - limit) : end], end - limit > 0
    start = ids[starting_after] + 1 if starting_after else 0
    return objs[start : start + limit], start + limit < len(objs)


# ---- HubSpot --------------------------------------------------------------------------------------------


def hubspot_view(
    ws: Workspace, kind: str, obj: dict[str, Any], properties: list[str] | None, associations: list[str] | None = None
) -> dict[str, Any]:
    """An object as HubSpot returns it: only the asked-for properties (or the type's defaults), and the
    requested associations in v3's `{"deals": {"results": [{"id", "type"}]}}` form."""
    wanted = set(properties) | HUBSPOT_ALWAYS if properties else set(HUBSPOT_DEFAULT_PROPERTIES[kind])
    out = {
        "id": obj["id"],
        "properties": {k: v for k, v in obj["properties"].items() if k in wanted},
        "createdAt": obj.get("createdAt"),
        "updatedAt": obj.get("updatedAt"),
        "archived": obj.get("archived", False),
    }
    found = {}
    for name in associations or []:
        to = HUBSPOT_TYPES.get(name, "")
        if ids := ws.associations.get((kind, to), {}).get(obj["id"]):
            found[name] = {"results": [{"id": i, "type": f"{SINGULAR[kind]}_to_{SINGULAR[to]}"} for i in ids]}
    return out | {"associations": found} if found else out


def hubspot_page(objs: list[dict[str, Any]], limit: int, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """`after` is an opaque cursor to HubSpot clients; here it is the offset of the next object."""
    start = int(after) if after and after.isdigit() else 0
    chunk = objs[start : start + limit]
    return chunk, str(start + limit) if start + limit < len(objs) else None


# ---- Salesforce: a deliberately small SOQL dialect ------------------------------------------------------
#
#   SELECT f1, f2, ... FROM Object
#     [WHERE cond [AND cond ...]]     cond: Field = | != | < | <= | > | >= literal, or Field IN (literal, ...)
#     [ORDER BY Field [ASC | DESC] [NULLS FIRST | NULLS LAST]]
#     [LIMIT n]
#
# literals: 'quoted strings' (backslash escapes, as simple_salesforce.format_soql writes them), numbers, true,
# false, null, and unquoted dates / datetimes. Anything else (OR, subqueries, functions, relationship fields)
# is a MALFORMED_QUERY, so a connector that needs more finds out in its tests rather than in production.


class SoqlError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Soql:
    fields: list[str]
    sobject: str
    where: list[tuple[str, str, Any]]
    order: tuple[str, bool, bool] | None  # field, descending, nulls last
    limit: int | None


_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*')
    |(?P<date>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))?)
    |(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),])|(?P<word>[A-Za-z_][\w.]*))""",
    re.X,
)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at: {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, value: str) -> Any:
    if kind == "str":
        return re.sub(r"\\(.)", lambda e: _UNESCAPE.get(e.group(1), e.group(1)), value[1:-1])
    if kind == "num":
        return float(value)
    if kind == "date":
        return value
    if kind == "word" and value.lower() in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[value.lower()]
    raise SoqlError("MALFORMED_QUERY", f"expected a literal value, found {value!r}")


def parse_soql(text: str) -> Soql:
    toks = _tokens(text)
    pos = 0

    def peek(*words: str) -> bool:
        return pos < len(toks) and toks[pos][0] == "word" and toks[pos][1].upper() in words

    def take(kind: str | None = None, word: str | None = None) -> str:
        nonlocal pos
        if pos >= len(toks) or (kind and toks[pos][0] != kind) or (word and toks[pos][1].upper() != word):
            found = toks[pos][1] if pos < len(toks) else "end of query"
            raise SoqlError("MALFORMED_QUERY", f"expected {word or kind}, found {found!r}")
        pos += 1
        return toks[pos - 1][1]

    def value() -> Any:
        nonlocal pos
        if pos >= len(toks):
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        pos += 1
        return _literal(*toks[pos - 1])

    take("word", "SELECT")
    fields = [take("word")]
    while pos < len(toks) and toks[pos] == ("punct", ","):
        pos += 1
        fields.append(take("word"))
    take("word", "FROM")
    sobject, where, order, limit = take("word"), [], None, None
    while peek("AND" if where else "WHERE"):
        pos += 1
        name = take("word")
        if peek("IN"):
            pos += 1
            if take("punct") != "(":
                raise SoqlError("MALFORMED_QUERY", "IN needs a parenthesised list")
            values = [value()]
            while take("punct") == ",":
                values.append(value())
            where.append((name, "IN", values))
        else:
            op = take("op")
            where.append((name, "!=" if op == "<>" else op, value()))
    if peek("ORDER"):
        pos += 1
        take("word", "BY")
        name, desc = take("word"), False
        if peek("ASC", "DESC"):
            desc = take().upper() == "DESC"
        nulls_last = desc
        if peek("NULLS"):
            pos += 1
            nulls_last = take("word").upper() == "LAST"
        order = (name, desc, nulls_last)
    if peek("LIMIT"):
        pos += 1
        limit = int(float(take("num")))
    if pos != len(toks):
        raise SoqlError(
            "MALFORMED_QUERY",
            f"unsupported SOQL near {toks[pos][1]!r} (the sandbox speaks a subset: see sandbox/workspace.py)",
        )
    return Soql(fields, sobject, where, order, limit)


def _cmp_key(value: Any) -> Any:
    """Numbers compare as numbers, dates and datetimes by their ISO text up to the second, and text without
    regard to case, as SOQL compares it."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    return text[:19] if re.match(r"\d{4}-\d{2}-\d{2}", text) else text.casefold()


def run_soql(q: Soql, records_by_object: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    objects = {k.lower(): k for k in records_by_object}
    if q.sobject.lower() not in objects:
        raise SoqlError("INVALID_TYPE", f"sObject type '{q.sobject}' is not supported.")
    name = objects[q.sobject.lower()]
    records = records_by_object[name]
    known = {k.lower(): k for r in records for k in r if k != "attributes"}

    def col(f: str) -> str:
        if f.lower() not in known and records:
            raise SoqlError("INVALID_FIELD", f"No such column '{f}' on entity '{name}'.")
        return known.get(f.lower(), f)

    fields = [col(f) for f in q.fields]
    rows = records
    for f, op, lit in q.where:
        c = col(f)
        key = _id_key if c.endswith("Id") else _cmp_key  # Salesforce takes a 15- or 18-character id alike
        if op == "IN":
            keys = {key(v) for v in lit}
            rows = [r for r in rows if key(r.get(c)) in keys]
            continue
        want = key(lit)
        rows = [r for r in rows if _compare(key(r.get(c)), op, want)]
    if q.order:
        c, desc, nulls_last = col(q.order[0]), q.order[1], q.order[2]
        present = sorted((r for r in rows if r.get(c) is not None), key=lambda r: _cmp_key(r[c]), reverse=desc)
        absent = [r for r in rows if r.get(c) is None]
        rows = present + absent if nulls_last else absent + present
    if q.limit is not None:
        rows = rows[: q.limit]
    return [{"attributes": r.get("attributes", {"type": name}), **{f: r.get(f) for f in fields}} for r in rows]


def _id_key(v: Any) -> Any:
    return v[:15] if isinstance(v, str) and len(v) in (15, 18) else v


_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _compare(have: Any, op: str, want: Any) -> bool:
    if op in ("=", "!="):
        return bool(_OPS[op](have, want))
    if have is None or want is None or isinstance(have, bool) != isinstance(want, bool):
        return False  # SOQL: a null is neither less nor greater than anything
    try:
        return bool(_OPS[op](have, want))
    except TypeError:
        return False


# ---- Slack ----------------------------------------------------------------------------------------------


def ts_key(ts: str) -> tuple[int, int]:
    """Slack timestamps compared exactly: a float loses the last digits of '1731234567.000100'."""
    sec, _, frac = str(ts).partition(".")
    return int(sec or 0), int((frac + "000000")[:6])


def encode_cursor(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(cursor: str, kind: str) -> str | None:
    try:
        k, _, v = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
    except ValueError:
        return None
    return v if k == kind else None


def is_parent(m: dict[str, Any]) -> bool:
    """conversations.history shows thread parents and loose messages, not replies (unless broadcast)."""
    return "thread_ts" not in m or m["thread_ts"] == m["ts"] or m.get("subtype") == "thread_broadcast"


def history_page(
    messages: list[dict[str, Any]],
    *,
    limit: int,
    cursor: str | None = None,
    oldest: str | None = None,
    latest: str | None = None,
    inclusive: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, between `oldest` and `latest` (exclusive unless `inclusive`); the next cursor or None."""
    lo, hi = ts_key(oldest) if oldest else None, ts_key(latest) if latest else None
    rows = [
        m
        for m in messages
        if is_parent(m)
        and (lo is None or ts_key(m["ts"]) > lo or (inclusive and ts_key(m["ts"]) == lo))
        and (hi is None or ts_key(m["ts"]) < hi or (inclusive and ts_key(m["ts"]) == hi))
    ]
    if cursor and (start := decode_cursor(cursor, "next_ts")) is not None:
        rows = [m for m in rows if ts_key(m["ts"]) <= ts_key(start)]
    page = rows[:limit]
    return page, encode_cursor("next_ts", rows[limit]["ts"]) if len(rows) > limit else None


def offset_page(
    items: list[Any], *, limit: int, cursor: str | None, kind: str = "offset"
) -> tuple[list[Any], str | None]:
    start = int(v) if cursor and (v := decode_cursor(cursor, kind)) and v.isdigit() else 0
    page = items[start : start + limit]
    return page, encode_cursor(kind, str(start + limit)) if start + limit < len(items) else None


def thread(messages: list[dict[str, Any]], ts: str) -> list[dict[str, Any]] | None:
    """A thread's parent then its replies, oldest first; None if no message has that ts."""
    parent = next((m for m in messages if m["ts"] == ts), None)
    if parent is None:
        return None
    replies = [m for m in messages if m.get("thread_ts") == ts and m["ts"] != ts]
    return [parent] + sorted(replies, key=lambda m: ts_key(m["ts"]))


SLACK_METHODS = (
    "auth.test",
    "conversations.list",
    "conversations.info",
    "conversations.history",
    "conversations.replies",
    "users.info",
    "users.list",
    "chat.postMessage",
    "chat.update",
    "chat.getPermalink",
)


class SlackError(Exception):
    """An API error Slack reports as HTTP 200 with {"ok": false, "error": code}."""


def channel_messages(ws: Workspace, posted: list[dict[str, Any]], channel: str) -> list[dict[str, Any]]:
    """The channel's messages, newest first, with what was posted since the sandbox started."""
    base = ws.history(channel)
    if base is None:
        raise SlackError("channel_not_found")
    mine = [p["message"] for p in reversed(posted) if p["channel"] == channel]
    return mine + base if mine else base


def _channel(ws: Workspace, ref: Any) -> dict[str, Any]:
    name = str(ref or "").lstrip("#")
    found = next((c for c in ws.slack_channels if name in (c["id"], c["name"])), None)
    if found is None:
        raise SlackError("channel_not_found")
    return found


def _paged(items: list[Any], args: dict[str, Any], default: int, top: int) -> tuple[list[Any], dict[str, Any]]:
    """A page of `items` by Slack's limit and cursor, and the response_metadata that goes with it."""
    try:
        limit = max(1, min(top, int(args.get("limit") or default)))
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    page, cursor = offset_page(items, limit=limit, cursor=args.get("cursor"))
    return page, {"response_metadata": {"next_cursor": cursor or ""}}


def slack_call(
    ws: Workspace, posted: list[dict[str, Any]], method: str, args: dict[str, Any], now: float
) -> dict[str, Any]:
    """One Web API method, answered from the workspace; `posted` is appended to by chat.postMessage."""
    try:
        return {"ok": True, **_slack_method(ws, posted, method, args, now)}
    except SlackError as e:
        return {"ok": False, "error": str(e)}


def _slack_method(
    ws: Workspace, posted: list[dict[str, Any]], method: str, args: dict[str, Any], now: float
) -> dict[str, Any]:
    if method not in SLACK_METHODS:
        raise SlackError("unknown_method")
    if method == "auth.test":
        return {
            "url": "https://sandbox.slack.com/",
            "team": "Sandbox",
            "user": "renewals",
            "team_id": "T0SANDBOX",
            "user_id": "U0SANDBOXBOT",
            "bot_id": "B0SANDBOX",
        }
    if method == "conversations.list":
        types = str(args.get("types") or "public_channel").split(",")
        skip_archived = str(args.get("exclude_archived")).lower() in ("true", "1")
        kind = lambda c: "private_channel" if c.get("is_private") else "public_channel"  # noqa: E731
        chans = [c for c in ws.slack_channels if kind(c) in types and not (skip_archived and c.get("is_archived"))]
        page, meta = _paged(chans, args, 100, 1000)
        return {"channels": page, **meta}
    if method == "conversations.info":
        return {"channel": _channel(ws, args.get("channel"))}
    if method == "users.info":
        if (user := next((u for u in ws.slack_users if u["id"] == args.get("user")), None)) is None:
            raise SlackError("user_not_found")
        return {"user": user}
    if method == "users.list":
        page, meta = _paged(ws.slack_users, args, 200, 1000)
        return {"members": page, "cache_ts": int(now), **meta}
    chan = _channel(ws, args.get("channel"))  # every method below is about one channel
    if method == "conversations.history":
        try:
            limit = max(1, min(999, int(args.get("limit") or 100)))
        except (TypeError, ValueError):
            raise SlackError("invalid_limit") from None
        msgs, cursor = history_page(
            channel_messages(ws, posted, chan["id"]),
            limit=limit,
            cursor=args.get("cursor"),
            oldest=args.get("oldest"),
            latest=args.get("latest"),
            inclusive=str(args.get("inclusive")).lower() in ("true", "1"),
        )
        return {
            "messages": msgs,
            "has_more": cursor is not None,
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor or ""},
        }
    if method == "conversations.replies":
        if (msgs := thread(channel_messages(ws, posted, chan["id"]), str(args.get("ts")))) is None:
            raise SlackError("thread_not_found")
        page, meta = _paged(msgs, args, 1000, 1000)
        return {"messages": page, "has_more": bool(meta["response_metadata"]["next_cursor"]), **meta}
    if method == "chat.postMessage":
        if not args.get("text") and not args.get("blocks"):
            raise SlackError("no_text")
        sec, us = max((ts_key(p["ts"]) for p in posted), default=(0, 0))
        t = max(int(now * 1_000_000), sec * 1_000_000 + us + 1)  # the clock, as Slack's; unique and increasing
        ts = f"{t // 1_000_000}.{t % 1_000_000:06d}"
        msg = {
            "type": "message",
            "user": "U0SANDBOXBOT",
            "bot_id": "B0SANDBOX",
            "app_id": "A0SANDBOX",
            "text": args.get("text") or "",
            "ts": ts,
            "team": "T0SANDBOX",
            **{k: args[k] for k in ("blocks", "thread_ts", "metadata") if args.get(k)},
        }
        posted.append(
            {
                "channel": chan["id"],
                "ts": ts,
                "text": msg["text"],
                "blocks": args.get("blocks"),
                "thread_ts": args.get("thread_ts"),
                "message": msg,
            }
        )
        return {"channel": chan["id"], "ts": ts, "message": msg}
    if method == "chat.update":  # only our own posts can be edited, as in Slack
        ts = str(args.get("ts"))
        entry = next((p for p in posted if p["channel"] == chan["id"] and p["ts"] == ts), None)
        if entry is None:
            raise SlackError("message_not_found")
        for k in ("text", "blocks"):
            if k in args:
                entry[k] = entry["message"][k] = args[k]
        entry["edits"] = entry.get("edits", 0) + 1
        return {"channel": chan["id"], "ts": ts, "text": entry["text"]}
    ts = str(args.get("message_ts"))  # chat.getPermalink
    if not any(m["ts"] == ts for m in channel_messages(ws, posted, chan["id"])):
        raise SlackError("message_not_found")
    link = f"https://sandbox.slack.com/archives/{chan['id']}/p{ts.replace('.', '')}"
    return {"channel": chan["id"], "permalink": link}
