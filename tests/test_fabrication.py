"""The anti-fabrication checks against both corpora: every lie caught, no honest twin rejected, on every bank."""

from __future__ import annotations

import random
import string
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.citations import validate_row
from schemas.verdict import SOURCE_VALIDATION_FAILED
from tests import fabrication, fabrication_corpus
from tests.fabrication import EXPECT, customer

IDS = fabrication.corpus()
CLAIMS = fabrication_corpus.corpus()


def test_the_corpora_are_large_and_every_lie_has_an_honest_twin() -> None:
    assert len(IDS) + len(CLAIMS) >= 1500
    for cases, classes in ((IDS, EXPECT), (CLAIMS, fabrication_corpus.EXPECT)):
        counts = Counter((c.category, c.bad) for c in cases)
        for category in classes:
            assert counts[(category, True)] == counts[(category, False)] > 0, category
    banks = Counter(c.split for c in CLAIMS)
    assert set(banks) == set(fabrication_corpus.BANKS) and min(banks.values()) >= 300


@pytest.mark.parametrize("category", list(EXPECT))
def test_every_citation_lie_is_caught(category: str) -> None:
    missed = [c.note for c in IDS if c.category == category and c.bad and fabrication.outcome(c) != c.expect]
    assert not missed, f"{len(missed)} {category} case(s) passed validation, e.g. {missed[:3]}"


@pytest.mark.parametrize("bank", list(fabrication_corpus.BANKS))
@pytest.mark.parametrize("category", list(fabrication_corpus.EXPECT))
def test_every_claim_lie_is_caught_on_every_bank(bank: str, category: str) -> None:
    cases = [c for c in CLAIMS if c.split == bank and c.category == category]
    missed = [c.note for c in cases if c.bad and fabrication_corpus.outcome(c) != c.expect]
    assert not missed, f"{len(missed)} {category} lie(s) of bank {bank} passed, e.g. {missed[:3]}"


def test_no_honest_twin_is_rejected() -> None:
    rejected = [
        (c.category, fabrication.outcome(c), c.note) for c in IDS if not c.bad and fabrication.outcome(c) != "clean"
    ]
    rejected += [
        (c.category, fabrication_corpus.outcome(c), c.note)
        for c in CLAIMS
        if not c.bad and fabrication_corpus.outcome(c) != "clean"
    ]
    assert not rejected, f"{len(rejected)} honest row(s) rejected, e.g. {rejected[:3]}"


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
    negative = [s for s in ids if any(i.signal < 0 for i in ctx.bundle.by_id()[s])]
    honest = next(c.row for c in IDS if not c.bad and c.category == "unknown_id").model_copy(
        update={
            "customer_id": ctx.profile.customer_id,
            "email": None,
            "cited_source_ids": negative[:2],
            "diary": f"At risk. Read from [{negative[0]}].",
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
