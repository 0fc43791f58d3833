"""Where the operator and the model disagree: an override whose verdict differs from the scan's, or a skipped draft
whose reason says the verdict was wrong. Pure. The skip reason is the operator's free text, so its reading is a
small, stated list of phrases (a reason that only says why not now — "already called", "duplicate" — agrees)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from core.blocks import escape, section
from core.overrides import agrees

# Said of a save email (the model read the account as at risk): the account is fine after all.
_NOT_AT_RISK = (
    r"not (?:at )?risk|no risk|not churning|renew(?:ing|ed|al (?:is )?(?:agreed|signed|confirmed))"
    r"|verbally agreed|happy|healthy|false alarm"
)
# Said of an upsell (the model read expansion): no growth is coming, or the account is in trouble.
_NOT_EXPANDING = r"not expanding|no expansion|no budget|downsiz\w*|churn\w*|at risk|cancel\w*"
_WRONG = r"wrong|mistaken|incorrect|misread|disagree\w*"
WORDS = {"save": f"{_NOT_AT_RISK}|{_WRONG}", "upsell": f"{_NOT_EXPANDING}|{_WRONG}"}
PATTERNS = {kind: re.compile(rf"\b(?:{words})\b", re.I) for kind, words in WORDS.items()}


def sql_pattern(kind: str) -> str:
    """The same reading as a PostgreSQL regex, for the /metrics aggregate (\\m and \\M: its word boundaries)."""
    return rf"\m({WORDS[kind]})\M".replace("(?:", "(")


def skip_disagrees(reason: str | None, kind: str) -> bool:
    """Whether a skip reason contradicts the draft's verdict (save: at risk; upsell: expansion). For a save email
    the first phrase decides: "not at risk" is not "at risk"."""
    return bool(reason) and kind in PATTERNS and PATTERNS[kind].search(reason or "") is not None


@dataclass(frozen=True)
class Disagreement:
    customer_id: str
    name: str
    arr_usd: float
    source: str  # override | skip
    operator: str
    said: str  # the override's verdict, or the skipped draft's kind
    model: str  # the scan's verdict
    reason: str
    run_date: str


def listed(items: Iterable[Disagreement], top: int = 10) -> list[dict[str, object]]:
    """The digest's disagreement list: the largest accounts first."""
    ordered = sorted(items, key=lambda d: (-d.arr_usd, d.customer_id, d.source))
    return [asdict(d) for d in ordered[:top]]


def _line(d: dict[str, Any]) -> str:
    said = "override " + str(d["said"]) if d["source"] == "override" else f"skipped the {d['said']} draft"
    return f"{d['name']} (${d['arr_usd']:,.0f}): {d['operator']} {said}; the scan read {d['model']} — “{d['reason']}”"


def render_text(summary: dict[str, Any]) -> str:
    """The digest's disagreement section, appended to core.digest's text ('' when there is none)."""
    items = summary.get("disagreements") or []
    if not items:
        return ""
    return "\n".join(["", "Operators and the model disagreed:"] + [f"  - {_line(d)}" for d in items]) + "\n"


def render_blocks(summary: dict[str, Any]) -> list[dict[str, Any]]:
    items = summary.get("disagreements") or []
    if not items:
        return []
    return [section("*Operators and the model disagreed*\n" + "\n".join(f"• {escape(_line(d))}" for d in items))]


def override_disagrees(verdict: str, model: str) -> bool:
    return not agrees(verdict, model)
