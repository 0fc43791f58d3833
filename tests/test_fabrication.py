"""The anti-fabrication check against the corpus: every lie caught, no honest twin rejected."""

from __future__ import annotations

import random
import string
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.citations import validate_row
from schemas.verdict import SOURCE_VALIDATION_FAILED
from tests.fabrication import EXPECT, PROBES, corpus, customer, outcome

CORPUS = corpus()
REQUIRED = [c for c in EXPECT if c not in PROBES]


def missing(category: str) -> list[str]:
    """Notes of the fabricated cases of `category` that validation let through as they were."""
    return [c.note for c in CORPUS if c.category == category and c.bad and outcome(c) != c.expect]


def test_the_corpus_is_large_and_every_lie_has_an_honest_twin() -> None:
    assert len([c for c in CORPUS if c.bad]) >= 200
    counts = Counter((c.category, c.bad) for c in CORPUS)
    for category in EXPECT:
        assert counts[(category, True)] == counts[(category, False)] > 0, category


@pytest.mark.parametrize("category", REQUIRED)
def test_every_fabrication_is_caught(category: str) -> None:
    missed = missing(category)
    assert not missed, f"{len(missed)} {category} case(s) passed validation, e.g. {missed[:3]}"


def test_no_honest_twin_is_rejected() -> None:
    rejected = [(c.category, outcome(c), c.note) for c in CORPUS if not c.bad and outcome(c) != "clean"]
    assert not rejected, f"{len(rejected)} honest row(s) rejected, e.g. {rejected[:3]}"


# Gaps the corpus found in core/citations.py, now closed: a capitalised vendor, a number that is only part of a
# date, a number that is only the tail of digits inside an id.
def test_probe_a_citation_with_a_capitalised_vendor_is_caught() -> None:
    missed = missing("case_variant_id")
    assert not missed, f"{len(missed)} missed, e.g. {missed[:2]}"


def test_probe_a_number_that_is_only_part_of_a_date_is_caught() -> None:
    missed = missing("number_from_a_date")
    assert not missed, f"{len(missed)} missed, e.g. {missed[:2]}"


def test_probe_a_number_that_is_only_the_tail_of_digits_inside_an_id_is_caught() -> None:
    missed = missing("number_from_an_id")
    assert not missed, f"{len(missed)} missed, e.g. {missed[:2]}"


CONTEXTS = [customer(random.Random(100 + i), i) for i in range(12)]


@settings(max_examples=400, deadline=None)
@given(
    which=st.integers(0, 10_000),
    pos=st.integers(0, 200),
    ch=st.sampled_from(string.ascii_letters + string.digits),
    op=st.sampled_from(["replace", "delete", "insert"]),
    where=st.sampled_from(["cited", "diary"]),
)
def test_any_one_character_slip_in_a_citation_demotes_the_row(
    which: int, pos: int, ch: str, op: str, where: str
) -> None:
    ctx = CONTEXTS[which % len(CONTEXTS)]
    ids = sorted(ctx.bundle.source_ids())
    real = ids[which % len(ids)]
    i = len(real.split(":", 1)[0]) + 1 + pos % (len(real) - len(real.split(":", 1)[0]) - 1)  # inside the id
    slipped = {
        "replace": real[:i] + ch + real[i + 1 :],
        "delete": real[:i] + real[i + 1 :],
        "insert": real[:i] + ch + real[i:],
    }[op]
    if slipped in ids or not slipped[-1].isalnum():
        return  # not a slip (the same id, or one whose edge the text reader would trim away)
    honest = next(c.row for c in CORPUS if not c.bad and c.category == "unknown_id").model_copy(
        update={
            "customer_id": ctx.profile.customer_id,
            "email": None,
            "cited_source_ids": ids[:2],
            "diary": f"At risk. Read from [{ids[0]}].",
        }
    )
    row = (
        honest.model_copy(update={"cited_source_ids": [slipped]})
        if where == "cited"
        else honest.model_copy(update={"diary": honest.diary + f" And from [{slipped}]."})
    )
    assert validate_row(honest, ctx.bundle, ctx.profile.name) == (honest, [])
    demoted, notes = validate_row(row, ctx.bundle, ctx.profile.name)
    assert demoted.abstain_reason == SOURCE_VALIDATION_FAILED, (slipped, notes)
    assert demoted.classification == "standard" and demoted.severity == "LOW"
