"""The daily health briefing's judgement, as pure functions: hot / warm / cold per account from its evidence,
a ranking by urgency, a one-line recommendation that cites its signal, and the Slack Block Kit message.

Tiers follow published practice (Gainsight-style bands, PostHog's Vitally rules): payment trouble or falling
usage or an error spike is cold; growth with clean payments is hot; the rest is warm. One invoice paid a few
days late after a retry is settled, not trouble; an error spike needs at least five errors (connectors/usage.py).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.blocks import escape, section
from core.citations import SOURCE_ID, evidence_numbers, numbers_in
from schemas.evidence import FACTORS, EvidenceItem

Tier = Literal["hot", "warm", "cold"]
PAYMENT_TROUBLE = {
    "invoice_past_due",
    "invoice_uncollectible",
    "payment_attempts_failed",
    "cancel_at_period_end",
    "subscription_past_due",
    "invoice_paid_late",
}
DECLINE = {"usage_fell", "seats_contracted", "plan_downgraded", "low_utilisation"}
ERRORS = {"error_spike"}
RENEWAL_GROWTH = {"renewal_expansion"}
GROWTH = {"usage_grew", "seats_grew", "plan_upgraded", "near_seat_limit"} | RENEWAL_GROWTH
RENEWAL_RISK = {"renewal_likely_churn", "renewal_at_risk"}
# The renewal scan's verdict, read from its diary: it saw the CRM and Slack, which the briefing does not gather.
RENEWAL_SIGNAL = {"likely_churn": -0.9, "at_risk": -0.5, "expansion": 0.5}
DIARY_DAYS = 14  # an older verdict is stale: the scan re-reads a due account every day


@dataclass(frozen=True)
class Health:
    customer_id: str
    name: str
    arr_usd: float
    tier: Tier
    urgency: int  # lower is more urgent
    recommendation: str
    cites: str | None  # the source id behind the recommendation


def diary_item(
    entry_id: int, run_date: dt.date, classification: str, severity: str, pushed_by: str | None
) -> EvidenceItem | None:
    """The renewal scan's latest verdict as one more signal, cited by its diary entry (whose own citations carry
    the chain on); None when it says nothing the briefing would act on (a standard verdict)."""
    if classification not in RENEWAL_SIGNAL:
        return None
    moved = f", moved by {pushed_by.replace('_', ' ')}" if pushed_by else ""
    return EvidenceItem(
        source_id=f"diary:{entry_id}",
        kind=f"renewal_{classification}",
        factor=pushed_by if pushed_by in FACTORS else "support_sentiment",
        signal=RENEWAL_SIGNAL[classification],
        observed_on=run_date,
        summary=f"the renewal scan of {run_date.isoformat()} read it "
        f"{classification.replace('_', ' ')} ({severity}){moved}",
        facts={"run_date": run_date.isoformat(), "classification": classification},
    )


SETTLED = {"invoice_paid_late", "payment_attempts_failed"}  # trouble with an invoice that was paid after all
SETTLED_DAYS_LATE = 10


def settled(items: list[EvidenceItem]) -> bool:
    """One invoice's trouble, since paid at most SETTLED_DAYS_LATE days late (a retried charge, a slow AP run),
    and no other payment trouble: a blip on a healthy account, not a cold one (issue #12: a payment retried and
    paid the next day was tiered cold). Stripe reads a charge paid within its grace days as payment_retried,
    which is not payment trouble at all."""
    trouble = [i for i in items if i.kind in PAYMENT_TROUBLE]
    if not trouble or any(i.kind not in SETTLED for i in trouble) or len({i.source_id for i in trouble}) > 1:
        return False
    late = [(i.facts.get("days_late"), i.signal) for i in trouble if i.kind == "invoice_paid_late"]
    # without a day count to read, only the mildest lateness is settled
    return all(days <= SETTLED_DAYS_LATE if isinstance(days, int) else signal > -0.2 for days, signal in late)


def _first(items: list[EvidenceItem], kinds: set[str]) -> EvidenceItem | None:
    hits = [i for i in items if i.kind in kinds]
    return min(hits, key=lambda i: (i.signal, i.source_id)) if hits else None


def assess(customer_id: str, name: str, arr_usd: float, items: list[EvidenceItem]) -> Health:
    """Tier, urgency and recommendation for one account. Urgency: 0 cold with payment issues, 1 cold with declining
    usage, errors or a renewal verdict of risk, 2 hot with expansion signals, 3 warm."""
    pay, fall, err = _first(items, PAYMENT_TROUBLE), _first(items, DECLINE), _first(items, ERRORS)
    risk = _first(items, RENEWAL_RISK)
    # a concrete billing or usage signal makes the better recommendation; the scan's verdict when it is the only one
    grow = max(
        (i for i in items if i.kind in GROWTH),
        key=lambda i: (i.kind not in RENEWAL_GROWTH, i.signal, i.source_id),
        default=None,
    )
    if pay is not None and not settled(items):
        # Billing trouble on an account that grows and shows no decline (a PO in flight) is mixed, not cold: warm,
        # and still first in line for the billing call.
        growing = (
            fall is None
            and err is None
            and risk is None
            and any(i.kind in GROWTH - RENEWAL_GROWTH and i.signal >= 0.3 for i in items)
        )
        tier: Tier = "warm" if growing else "cold"
        return Health(customer_id, name, arr_usd, tier, 0, f"Call about billing: {pay.summary}", pay.source_id)
    if fall is not None or err is not None:
        sig = min((s for s in (err, fall) if s is not None), key=lambda s: s.signal)  # the error on a tie
        action = "Investigate the error spike" if sig.kind in ERRORS else "Send a check-in email"
        return Health(customer_id, name, arr_usd, "cold", 1, f"{action}: {sig.summary}", sig.source_id)
    if risk is not None:
        return Health(customer_id, name, arr_usd, "cold", 1, f"Send a check-in email: {risk.summary}", risk.source_id)
    if grow is not None:
        return Health(customer_id, name, arr_usd, "hot", 2, f"Offer a plan upgrade: {grow.summary}", grow.source_id)
    return Health(customer_id, name, arr_usd, "warm", 3, "No action: steady, no red flags", None)


def rank(accounts: list[Health]) -> list[Health]:
    """Most urgent first; within a band, the larger account first (more revenue at stake or in reach)."""
    return sorted(accounts, key=lambda h: (h.urgency, -h.arr_usd, h.customer_id))


def counts(accounts: list[Health]) -> dict[str, int]:
    return {t: sum(1 for a in accounts if a.tier == t) for t in ("hot", "warm", "cold")}


def summary(accounts: list[Health], top: int = 20) -> dict[str, Any]:
    """What the briefing says, as data (stored and served by the API): the counts, the `top` accounts by urgency
    with their recommendations, and the expansion opportunities."""
    ranked = rank(accounts)
    return {
        "counts": counts(accounts),
        "accounts": len(accounts),
        "top": [asdict(a) for a in ranked if a.tier != "warm"][:top],
        "expansion": [asdict(a) for a in ranked if a.tier == "hot"][:5],
    }


def _line(a: dict[str, Any]) -> str:
    return f"*{escape(a['name'])}* (${a['arr_usd']:,.0f}) — {escape(a['recommendation'])}" + (
        f" `{a['cites']}`" if a["cites"] else ""
    )


def briefing_blocks(tenant: str, day: str, s: dict[str, Any], top: int = 10) -> list[dict[str, Any]]:
    """The Slack message: counts, the top accounts by urgency with recommendations, expansion opportunities."""
    c = s["counts"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Customer health — {day}"}},
        section(
            f":fire: {c['hot']} hot   :large_yellow_circle: {c['warm']} warm   "
            f":snowflake: {c['cold']} cold   ({s['accounts']} paying accounts, {tenant})"
        ),
        section(
            "*Most urgent*\n"
            + ("\n".join(f"{n}. {_line(a)}" for n, a in enumerate(s["top"][:top], 1)) or "Nothing urgent today.")
        ),
    ]
    if s["expansion"]:
        blocks.append(section("*Expansion opportunities*\n" + "\n".join(f"• {_line(a)}" for a in s["expansion"])))
    return blocks


def briefing_text(tenant: str, day: str, s: dict[str, Any]) -> str:
    """The same briefing as plain text: Slack's notification fallback, and what the API serves."""
    c = s["counts"]
    out = [
        f"Customer health, {day} ({tenant}): {c['hot']} hot, {c['warm']} warm, {c['cold']} cold "
        f"of {s['accounts']} paying accounts",
        "",
        "Most urgent:",
    ]
    out += [
        f"{n:>3}. {a['name']} (${a['arr_usd']:,.0f}, {a['tier']}) - {a['recommendation']}"
        + (f" [{a['cites']}]" if a["cites"] else "")
        for n, a in enumerate(s["top"], 1)
    ] or ["  nothing urgent"]
    out += ["", "Expansion opportunities:"]
    out += [
        f"  - {a['name']} (${a['arr_usd']:,.0f}) - {a['recommendation']} [{a['cites']}]" for a in s["expansion"]
    ] or ["  none today"]
    return "\n".join(out) + "\n"


# ---- the tenant's model, when configured: its reading checked like a verdict ---------------------------------

HEALTH_SYSTEM = """You are a customer-success analyst. For each paying account you are given, read its evidence \
and return one health reading.

Rules, all checked by machine after you answer:
1. Answer only with JSON matching the schema: {"rows": [...]}, one row per account, each with its customer_id.
2. tier is hot (growing, engaged, clean), warm (steady, no red flags) or cold (declining, errors or payment \
issues).
3. recommendation is one line for the customer-success team ("Send a check-in email: ...", "Investigate \
yesterday's error spike: ...", "Offer a plan upgrade: ..."). Any number in it must appear in the evidence \
item you cite.
4. cites is the one source_id behind the recommendation, copied character for character from THAT account's \
own evidence; null only for a warm account that needs no action. A reading that cites anything else is \
discarded and the account is scored by rules instead."""
ACCOUNTS_MARKER = "Accounts, as JSON:\n"


class HealthRow(BaseModel):
    customer_id: str
    tier: Tier
    recommendation: str = Field(max_length=400)
    cites: str | None = None


class HealthAnswer(BaseModel):
    rows: list[HealthRow]


def health_prompt(day: str, accounts: list[tuple[str, str, float, list[EvidenceItem]]]) -> tuple[str, str]:
    payload = [
        {
            "customer_id": cid,
            "name": name,
            "arr_usd": arr,
            "evidence": [i.model_dump(mode="json", exclude_none=True) for i in items],
        }
        for cid, name, arr, items in accounts
    ]
    return HEALTH_SYSTEM, (
        f"Day: {day}. {len(accounts)} account(s).\n"
        + ACCOUNTS_MARKER
        + json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    )


def check_reading(row: HealthRow, items: list[EvidenceItem], rules: Health) -> tuple[Health, str | None]:
    """The model's reading if it cites this account's own evidence and every number in its recommendation is
    in the cited item, and it does not clear an account with payment trouble; otherwise the rules' reading and
    why the model's was set aside. Urgency follows the account's evidence, as the ranking's rules say."""
    # The ranking's first band is not the model's to empty: payment trouble stays cold, or warm where the rules
    # read it warm (billing trouble on a growing account), and keeps its place first in line.
    if rules.urgency == 0 and row.tier not in ("cold", rules.tier):
        return rules, f"the model called it {row.tier}, but {rules.cites} shows payment trouble"
    if row.cites is None:
        if row.tier != "warm":
            return rules, f"the model called it {row.tier} without citing a signal"
        return replace(rules, tier="warm", urgency=3, recommendation=row.recommendation, cites=None), None
    cited = [i for i in items if i.source_id.lower() == row.cites.strip().lower()]  # one id, several signals
    if not cited:
        return rules, f"the model cited {row.cites}, which is not in this account's evidence"
    sid = cited[0].source_id
    unverified = numbers_in(SOURCE_ID.sub("", row.recommendation)) - evidence_numbers(cited)
    if unverified:
        shown = ", ".join(f"{n:g}" for n in sorted(unverified))
        return rules, f"the model's recommendation has numbers not in {sid}: {shown}"
    urgency = 0 if rules.urgency == 0 else {"hot": 2, "warm": 3}.get(row.tier, 1)
    return replace(rules, tier=row.tier, urgency=urgency, recommendation=row.recommendation, cites=sid), None
