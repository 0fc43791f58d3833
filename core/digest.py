"""The weekly ARR-in-motion digest, as pure functions: which accounts are HIGH, how much ARR is at risk or in
expansion, who moved since last week, and the diary lines that justify each. Every figure names the accounts it
sums and each account the source ids its verdict cited, so a reader can follow any number back to Stripe, the
CRM, Slack or usage."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from core.blocks import escape, section

RISK = ("at_risk", "likely_churn")
SEVERITY_RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}
TOP = 10


@dataclass(frozen=True)
class Reading:
    """A customer's latest verdict in a week."""

    customer_id: str
    name: str
    arr_usd: float
    classification: str
    severity: str
    run_date: dt.date
    cited: list[str]
    diary: str | None = None


def _account(r: Reading) -> dict[str, Any]:
    out = asdict(r)
    out["run_date"] = r.run_date.isoformat()
    return out


def _by_arr(rs: list[Reading]) -> list[Reading]:
    return sorted(rs, key=lambda r: (-r.arr_usd, r.customer_id))


def digest(
    week: dt.date, current: list[Reading], previous: dict[str, Reading], held: list[Reading] | None = None
) -> dict[str, Any]:
    """`current`: each customer's latest verdict this week; `previous`: the latest before it, by customer;
    `held`: verdicts demoted for citing outside their evidence, waiting for an operator (not summed)."""
    risk = _by_arr([r for r in current if r.classification in RISK])
    grow = _by_arr([r for r in current if r.classification == "expansion"])
    movers = []
    for r in current:
        before = previous.get(r.customer_id)
        if before and (before.classification, before.severity) != (r.classification, r.severity):
            movers.append(
                {
                    **_account(r),
                    "from": f"{before.classification}/{before.severity}",
                    "to": f"{r.classification}/{r.severity}",
                    "worse": SEVERITY_RANK[r.severity] > SEVERITY_RANK[before.severity]
                    or (r.classification in RISK and before.classification not in RISK),
                }
            )
    movers.sort(key=lambda m: (-m["arr_usd"], m["customer_id"]))
    return {
        "week": week.isoformat(),
        "accounts_read": len(current),
        "high": [_account(r) for r in _by_arr([r for r in current if r.severity == "HIGH"])],
        "arr_at_risk_usd": round(sum(r.arr_usd for r in risk), 2),
        "at_risk": [_account(r) for r in risk],
        "arr_in_expansion_usd": round(sum(r.arr_usd for r in grow), 2),
        "expansion": [_account(r) for r in grow],
        "movers": movers[:TOP],
        "movers_total": len(movers),
        "held": [_account(r) for r in _by_arr(held or [])],
    }


def _more(total: int) -> list[str]:
    """The line saying how many a list of TOP left out, if any."""
    return [f"… and {total - TOP} more"] if total > TOP else []


def _excerpt(diary: str | None, limit: int = 160) -> str:
    return "" if not diary else diary if len(diary) <= limit else diary[:limit].rsplit(" ", 1)[0] + " …"


def _ids(a: dict[str, Any]) -> str:
    return ", ".join(a["cited"][:4]) + (" …" if len(a["cited"]) > 4 else "") if a["cited"] else "no citation"


def _line(a: dict[str, Any]) -> str:
    return f"{a['name']} (${a['arr_usd']:,.0f}, {a['classification']}/{a['severity']}) [{_ids(a)}]"


def render_text(d: dict[str, Any]) -> str:
    out = [
        f"Renewal digest, week of {d['week']} ({d['accounts_read']} accounts read this week)",
        "",
        f"ARR at risk: ${d['arr_at_risk_usd']:,.0f} across {len(d['at_risk'])} accounts",
        f"ARR in expansion: ${d['arr_in_expansion_usd']:,.0f} across {len(d['expansion'])} accounts",
        "",
    ]
    out += (
        ["HIGH severity:"]
        + [f"  - {_line(a)}" + (f"\n      diary: {a['diary']}" if a["diary"] else "") for a in d["high"][:TOP]]
        + (["  (none)"] if not d["high"] else [])
    )
    out += [f"  {m}" for m in _more(len(d["high"]))]
    out += ["", f"Top movers since last week ({d['movers_total']} in all):"]
    out += [
        f"  - {m['name']} (${m['arr_usd']:,.0f}): {m['from']} -> {m['to']} [{_ids(m)}]"
        + (f"\n      diary: {m['diary']}" if m["diary"] else "")
        for m in d["movers"]
    ] or ["  (none)"]
    out += ["", "ARR at risk, account by account:"] + [f"  - {_line(a)}" for a in d["at_risk"]]
    out += ["", "ARR in expansion, account by account:"] + [f"  - {_line(a)}" for a in d["expansion"]]
    if d.get("held"):
        out += ["", "Held for review (a model cited a source outside the evidence; not counted above):"]
        out += [f"  - {a['name']} (${a['arr_usd']:,.0f}), {a['run_date']}" for a in d["held"]]
    return "\n".join(out) + "\n"


def render_blocks(d: dict[str, Any]) -> list[dict[str, Any]]:
    high = (
        "\n".join(
            [
                f"• *{escape(a['name'])}* (${a['arr_usd']:,.0f}, {a['classification']}) `{_ids(a)}`"
                for a in d["high"][:TOP]
            ]
            + _more(len(d["high"]))
        )
        or "None this week."
    )
    movers = (
        "\n".join(
            f"• *{escape(m['name'])}* (${m['arr_usd']:,.0f}) {m['from']} → {m['to']} `{_ids(m)}`"
            + (f"\n    _{escape(_excerpt(m['diary']))}_" if m["diary"] else "")
            for m in d["movers"]
        )
        or "Nobody moved."
    )
    return [
        {"type": "header", "text": {"type": "plain_text", "text": f"Renewal digest — week of {d['week']}"}},
        section(
            f":warning: *${d['arr_at_risk_usd']:,.0f}* ARR at risk ({len(d['at_risk'])} accounts)   "
            f":chart_with_upwards_trend: *${d['arr_in_expansion_usd']:,.0f}* ARR in expansion "
            f"({len(d['expansion'])} accounts)"
        ),
        section(f"*HIGH severity*\n{high}"),
        section(f"*Top movers since last week* ({d['movers_total']} in all)\n{movers}"),
    ] + (
        [
            section(
                f"*Held for review* ({len(d['held'])}, not counted above: a model cited a source outside the "
                "evidence)\n"
                + "\n".join(
                    [f"• *{escape(a['name'])}* (${a['arr_usd']:,.0f})" for a in d["held"][:TOP]] + _more(len(d["held"]))
                )
            )
        ]
        if d.get("held")
        else []
    )
