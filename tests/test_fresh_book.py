"""The fresh evaluation book (sandbox/phrases_fresh.py) keeps its promises: every bank of sandbox/phrases.py has a
fresh split of at least 25 phrasings sharing none with the tuning (sandbox/phrases_tuning.py's included) or held-out
phrasings, with the held-out split it outnumbers each bank's tuning phrasings (at least half of every bank is never
used while tuning), its message style appears only in fresh workspaces, and the generator deals a fresh-split
workspace deterministically from a seed.

The rules are not run on these phrasings here: the book grades them through bench.judgement only, so that no test
turns it into a tuning set."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import string
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from sandbox.generate import generate_workspace
from sandbox.phrases import BANKS
from sandbox.phrases_fresh import FRESH, HEADERS
from sandbox.phrases_tuning import MORE

AS_OF = dt.date(2026, 11, 22)
OLD = [text for name, bank in BANKS.items() for text in (*bank.tuning, *MORE[name], *bank.held_out)]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def _close(match: SequenceMatcher[str], other: str) -> bool:
    """At least 70 % alike (difflib's ratio), the cheap upper bounds first."""
    match.set_seq1(other)
    return match.real_quick_ratio() >= 0.7 and match.quick_ratio() >= 0.7 and match.ratio() >= 0.7


def test_every_bank_has_a_fresh_split_of_at_least_25_distinct_phrasings() -> None:
    assert FRESH.keys() == BANKS.keys()
    for name, texts in FRESH.items():
        assert len(texts) >= 25, name
        assert len({_norm(t) for t in texts}) == len(texts), f"{name} repeats a phrasing"


def test_at_least_half_of_every_bank_is_never_used_while_tuning() -> None:
    # issue #12: the phrasings a bank is graded on (held out + fresh) are at least as many as it is tuned on
    # (its tuning split + sandbox/phrases_tuning.py). The book itself keeps a margin of two or more, so that a
    # tuning phrasing or two added later does not break the promise at once.
    short = {
        name: (len(bank.tuning) + len(MORE[name]), len(bank.held_out) + len(FRESH[name]))
        for name, bank in BANKS.items()
        if len(bank.held_out) + len(FRESH[name]) < len(bank.tuning) + len(MORE[name])
    }
    assert not short, f"(tuned on, graded on) per bank: {short}"


def test_no_fresh_phrasing_is_shared_with_or_a_near_copy_of_the_other_splits() -> None:
    old = [_norm(t) for t in OLD]
    for name, texts in FRESH.items():
        for text in texts:
            mine = _norm(text)
            assert mine not in old, (name, text)
            match = SequenceMatcher(None, "", mine)  # the fresh text as the second sequence: its analysis is cached
            close = [o for o in old if _close(match, o)]
            assert not close, (name, text, close)


def test_fresh_phrasings_fill_in_only_the_champion() -> None:
    fields = {
        name: {f for text in texts for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        for name, texts in FRESH.items()
    }
    assert fields["handover"] == {"champion"}
    assert all(not f for name, f in fields.items() if name != "handover"), fields


def _histories(ws: Path) -> list[str]:
    return [m["text"] for f in sorted((ws / "slack/history").glob("*.json")) for m in json.loads(f.read_text())]


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("books")
    deal = lambda name, **kw: generate_workspace(root / name, customers=60, as_of=AS_OF, seed=5, **kw)  # noqa: E731
    return {"fresh": deal("fresh", fresh=True), "again": deal("again", fresh=True), "usual": deal("usual")}


def test_a_fresh_workspace_is_the_same_bytes_from_the_same_seed(books: dict[str, Path]) -> None:
    a, b = books["fresh"], books["again"]
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_a_fresh_workspace_speaks_only_the_fresh_book(books: dict[str, Path]) -> None:
    with open(books["fresh"] / "expected.csv") as f:
        assert {r["split"] for r in csv.DictReader(f)} == {"fresh"}
    texts = _histories(books["fresh"])
    assert len(texts) > 100
    said = " ".join(_norm(t) for t in texts)
    assert sum(_norm(t) in said for bank in FRESH.values() for t in bank) > 30
    # a phrasing of a word or two (the tuning book's "ok", "ok noted") is anyone's, and found inside any text
    assert not [t for t in OLD if "{" not in t and len(t.split()) >= 3 and _norm(t) in said]


def test_the_bulleted_status_update_is_the_fresh_splits_alone(books: dict[str, Path]) -> None:
    bulleted = lambda ws: [t for t in _histories(ws) if t.split("\n")[0].removeprefix("<!here> ") in HEADERS]  # noqa: E731
    assert len(bulleted(books["fresh"])) > 10
    assert not bulleted(books["usual"])
    assert not [t for t in _histories(books["fresh"]) if t.startswith("Hi team,\n\n")]  # the held-out style
