"""Anti-fabrication: every claim must cite this customer's own evidence, every number must be found in it.

Runs on every model answer, with the bundle as context, before anything is stored. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from schemas.evidence import EvidenceBundle, EvidenceItem
from schemas.verdict import SOURCE_VALIDATION_FAILED, DraftEmail, VerdictRow

SOURCE_ID = re.compile(
    r"\b(?:stripe|hubspot|salesforce|slack|usage|diary):[A-Za-z0-9_.:\-]*[A-Za-z0-9_]", re.IGNORECASE
)
ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
NUMBER = re.compile(r"(?<![A-Za-z0-9_])\d[\d,]*(?:\.\d+)?")


def cited_in_text(text: str) -> set[str]:
    return set(SOURCE_ID.findall(text))


def numbers_in(text: str) -> set[float]:
    out: set[float] = set()
    # A date is one claim, not three numbers: "2026-10-01" must not license "10 days" or "1 seat".
    text = ISO_DATE.sub(lambda m: m.group(1) + m.group(2) + m.group(3), text)
    for tok in NUMBER.findall(text):
        tok = tok.rstrip(",")
        try:
            out.add(float(tok.replace(",", "")))
        except ValueError:
            continue
    return out


def evidence_numbers(items: Iterable[EvidenceItem]) -> set[float]:
    found: set[float] = set()
    for item in items:
        found |= numbers_in(item.summary)
        for value in item.facts.values():
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int | float):
                found.add(float(value))
                found.add(float(round(value, 2)))
            else:
                found |= numbers_in(str(value))
    return found


def email_problems(email: DraftEmail, bundle: EvidenceBundle, customer_name: str = "") -> list[str]:
    """Why an email may not be sent as drafted: unknown anchors or numbers its anchors do not carry.

    The customer's own name is not a claim ("Acme 360" states no number), so it is left out of the check."""
    known = bundle.by_id()
    problems = [f"anchor {a} is not in this customer's evidence" for a in email.anchors if a not in known]
    cited_ids = {a for a in email.anchors if a in known} | {
        s for s in cited_in_text(email.body + " " + email.subject) if s in known
    }
    cited = [item for sid in sorted(cited_ids) for item in known[sid]]
    unknown_inline = sorted(s for s in cited_in_text(email.body + " " + email.subject) if s not in known)
    problems += [f"the email cites {s}, which is not in this customer's evidence" for s in unknown_inline]
    allowed = evidence_numbers(cited)
    # Source ids carry digits of their own; they are checked above, not as numbers.
    text = SOURCE_ID.sub(" ", email.subject + "\n" + email.body)
    if customer_name:
        text = text.replace(customer_name, " ")
    invented = sorted(n for n in numbers_in(text) if n not in allowed)
    problems += [f"the number {n:g} is not found in the cited evidence" for n in invented]
    return problems


def validate_row(row: VerdictRow, bundle: EvidenceBundle, customer_name: str = "") -> tuple[VerdictRow, list[str]]:
    """Return the row as it may be stored, and notes saying what was demoted or dropped and why."""
    known = bundle.source_ids()
    if row.customer_id != bundle.customer_id:
        raise ValueError(f"row for {row.customer_id} validated against the bundle of {bundle.customer_id}")
    cited = set(row.cited_source_ids) | cited_in_text(row.diary)
    unknown = sorted(cited - known)
    if unknown:
        note = f"{SOURCE_VALIDATION_FAILED}: cited {', '.join(unknown)}, not in this customer's evidence"
        return VerdictRow(
            customer_id=row.customer_id,
            classification="standard",
            severity="LOW",
            cited_source_ids=sorted(set(row.cited_source_ids) & known),
            diary=(
                f"The model's reading was rejected: it cited {', '.join(unknown)}, which this customer's "
                f"evidence does not contain. Verdict held at standard until an operator looks."
            ),
            recommended_action="internal_alert",
            email=None,
            abstain_reason=SOURCE_VALIDATION_FAILED,
        ), [note]
    if row.email is not None:
        problems = email_problems(row.email, bundle, customer_name)
        if problems:
            return row.model_copy(update={"email": None, "recommended_action": "internal_alert"}), [
                "email dropped: " + "; ".join(problems)
            ]
    return row, []
