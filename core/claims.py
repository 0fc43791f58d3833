"""Claims as data: the checks a template must pass before its rendered text may be stored.

The model's own prose (everything outside a reference) may state no number in any form, no date, no currency, no
commercial term (offers are references) and, for a customer, no internal material. Every reference must agree
with the words written around it: the claim groups a fact forbids (core/facts.py) may not stand next to it. A
problem found is named; the caller drops the email (or withholds the diary) and never repairs it. Pure.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from core import facts
from core.render import REF, Audience, Ref, RenderContext, Rendered, render
from schemas.evidence import EvidenceItem

_W = r"(?<![^\W\d_])(?:{})(?![^\W\d_])"  # whole words, in any script


def _words(*words: str) -> re.Pattern[str]:
    return re.compile(_W.format("|".join(words)), re.I)


_UNITS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen".split()
NUMBER_WORDS = _words(
    *_UNITS,
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety|zero|nil",
    r"hundreds?|thousands?|millions?|billions?|trillions?|dozens?|half|halves|halved|quarters?|thirds?|"
    r"twice|thrice|double[ds]?|doubling|triple[ds]?|tripling|quadrupl\w*|twofold|threefold|tenfold|couple|"
    r"fortnights?|decades?|grand|myriad",
    r"first|second|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|\w+teenth|\w+ieth|hundredth|"
    r"thousandth|millionth|nth|umpteen\w*",
    # the commonest in a few other languages (an email in German or Spanish must not slip numbers past)
    r"zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|zwanzig|hundert|tausend|deux|trois|quatre|cinq|huit|neuf|"
    r"mille|cuatro|cinco|seis|siete|ocho|nueve|diez|cien|ciento|millón|millones|mil|dos|tres|milliarde?n?|"
    r"tre|quattro|cinque|sette|otto|nove|dieci|venti|cento|mila|milioni?|três|quatro|dez|vinte|duzentos",
)
SCALE = re.compile(  # a lone letter after an apostrophe is English ("I'm"), not a scale suffix
    r"(?<![^\W\d_])(?<!['’])(?:k|m|mm|bn|b|x|pct|percent|per\s*cent|percentage|bps|basis\s+points?|times|fold|"
    r"kilo\w*|mega\w*|orders?\s+of\s+magnitude|magnitudes?)(?![^\W\d_])",
    re.I,
)
CURRENCY = _words(
    r"usd|eur|gbp|jpy|cad|aud|chf|inr|cny|rmb|sek|nok|dkk|nzd|sgd|hkd|brl|mxn|zar|pln|btc",
    r"dollars?|bucks|euros?|pounds?|quid|cents?|pence|yen|yuan|rupees?|francs?|krona|kronor|krone|pesos?|reais",
)
CURRENCY_GLUED = re.compile(r"(?:usd|eur|gbp|jpy|cad|aud|chf|inr)(?=[^a-z\s])|(?<=[^a-z\s])(?:usd|eur|gbp)", re.I)
MONTHS = re.compile(
    r"(?<![^\W\d_])(?:January|February|March|April|June|July|August|September|October|November|December|Jan|Feb|"
    r"Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?![^\W\d_])"
    r"|(?<=[a-z,;] )May(?![^\W\d_])",  # "May" mid-sentence is the month; a sentence opening "May we" is not
)
ROMAN = re.compile(r"(?<![^\W\d_])(?:[IVXLCDM]{2,}|[ivx]{2,4})(?![^\W\d_])")
VALID_ROMAN = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$", re.I)
ROMAN_WORDS = {"CC", "CV", "CD", "DC", "MD", "MC", "MM", "DIV", "MIX", "MIL", "CIV", "LI", "XL"}  # words first
LOOKALIKE = re.compile(r"(?<![\w$])\$?[OolI|][OolI|,.]*[kKmMxX]?(?![\w])")
QUOTE_RISK = _words(r"pric\w*|offer\w*|costs?|fees?|charg\w*|owe\w*|invoice\w*|contract\w*|instructions?")
SYMBOLS = set("%‰‱#№")
COMMERCIAL = _words(
    r"discount\w*|credit(?:s|ed)?|free|freebies?|gratis|complimentary|waiv\w*|rebates?|refund\w*|coupons?|"
    r"vouchers?|promo\w*|price[- ](?:lock\w*|hold\w*|freeze\w*|match\w*|protect\w*)|lock(?:ed)?[- ]in|"
    r"locked\s+price|freez\w*|froze\w*|cheaper|markdowns?|no\s+(?:extra\s+)?(?:charge|cost)|on\s+the\s+house|"
    r"money[- ]back|off\s+(?:your|the)\s+(?:renewal|price|invoice|bill)|comp(?:ed|ing)?|concessions?|on\s+us|"
    r"pay\s+less|savings?|save\s+(?:money|on)|half[- ]price|bonus\w*|gifts?|perks?|giveaways?",
)
FEEL_FREE = re.compile(r"\bfeel free\b", re.I)
COMMITMENT = _words(r"confirm\w*|guarantee\w*|promis\w*|agree\w*|approv\w*|honou?r\w*|accept\w*|grant\w*|commit\w*")
INTERNAL = _words(
    r"pipelines?|stages?|deal\s+stage|weighted|factors?|thresholds?|scor(?:e|es|ing)|signals?|source\s+ids?",
    r"claude|gpt\w*|gemini|llama|mistral|anthropic|openai|litellm|offline[- ]model|model|churn\w*|at[_ ]risk",
    r"closed\s?(?:won|lost)|renewal_at_risk|appointmentscheduled|qualifiedtobuy|presentationscheduled|"
    r"decisionmakerboughtin|contractsent|negotiation|prospecting|qualification",
)
SOURCE_ID = re.compile(
    r"\b(?:stripe|hubspot|salesforce|slack|usage|diary):[A-Za-z0-9_.:\-]*[A-Za-z0-9_]", re.IGNORECASE
)
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b", re.I)
MENTION = re.compile(r"<[@#!][A-Z0-9]|\bU[A-Z0-9]{6,}\b")
RAW_ID = re.compile(r"\b(?:in|sub|cus|ch|pi|si|ii|py|prod|price|sli)_[A-Za-z0-9]{6,}")
SENTENCE = re.compile(r"[.!?;\n]")
WINDOW = 4  # words either side of a reference that speak about it


def normal(text: str) -> str:
    """NFKC (fullwidth and superscript digits become plain ones) without invisible format characters, which
    could otherwise split a number word so no pattern sees it."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")


def prose_of(template: str) -> str:
    """The model's own words: references blanked out by an invisible separator, so no two words join across
    a reference."""
    return REF.sub(" \u2063 ", template)


def without_name(text: str, customer_name: str) -> str:
    """The customer's own name states no claim ("Acme 360" is no number): left out, as a whole word only."""
    if not customer_name.strip():
        return text
    return re.sub(r"(?<!\w)" + re.escape(customer_name) + r"(?!\w)", " ", text)


def prose_problems(
    prose: str, audience: Audience, internal: frozenset[str] | set[str] = frozenset(), customer_name: str = ""
) -> list[str]:
    """Everything in the model's own words that states a number, date, amount or term, or leaks internals."""
    found: list[str] = []
    if audience == "email" and (ids := sorted(set(SOURCE_ID.findall(prose)))):
        found.append("a source id in the prose: " + ", ".join(repr(i) for i in ids))
    # an id's digits are no claim; nor the name's
    words_found, low = _wording_problems(without_name(SOURCE_ID.sub(" ", prose), customer_name), audience)
    found += words_found
    if audience == "email":
        leaked = sorted(s for s in internal if len(s) >= 4 and s.casefold() in low)
        if leaked:
            found.append("internal CRM values in the prose: " + ", ".join(repr(s) for s in leaked))
    return found


@functools.lru_cache(maxsize=2048)
def _wording_problems(prose: str, audience: Audience) -> tuple[tuple[str, ...], str]:
    """What the words alone state, and their normal form casefolded (for the bundle's own internal values). A pure
    function of the words, kept per process: a scan's drafts share their wording once ids and names are out (a
    model's set phrases; the offline model's templates always), and these dozen patterns over every draft were a
    large share of the worker's CPU per customer (issue 14)."""
    found: list[str] = []
    numeric = sorted(
        {
            w.strip(".,;:!?()[]\"'")
            for w in prose.split()
            if any(unicodedata.category(c) in ("Nd", "No", "Nl") for c in w)
        }
    )
    if numeric:
        found.append("a number typed in the prose: " + ", ".join(repr(w) for w in numeric))
    text = normal(prose)
    symbols = sorted({c for c in text if unicodedata.category(c) == "Sc" or c in SYMBOLS})
    if symbols:
        found.append("a currency or percent sign typed in the prose: " + " ".join(symbols))

    def words(pattern: re.Pattern[str], what: str, src: str = text) -> None:
        hits = sorted({m.group(0).strip() for m in pattern.finditer(src)})
        if hits:
            found.append(f"{what} in the prose: " + ", ".join(repr(h) for h in hits))

    words(NUMBER_WORDS, "a number word")
    words(SCALE, "a scale word or suffix")
    words(CURRENCY, "a currency name or code")
    words(CURRENCY_GLUED, "a currency code")
    words(MONTHS, "a written-out date")
    romans = sorted(
        {m.group(0) for m in ROMAN.finditer(text) if VALID_ROMAN.match(m.group(0)) and m.group(0) not in ROMAN_WORDS}
    )
    if romans:
        found.append("a roman numeral in the prose: " + ", ".join(repr(r) for r in romans))
    looks = sorted({w for m in LOOKALIKE.finditer(text) if _lookalike(w := m.group(0).rstrip(",."))})
    if looks:
        found.append("letters standing in for digits in the prose: " + ", ".join(repr(w) for w in looks))
    if audience == "email":
        words(COMMERCIAL, "a commercial term that is not a configured offer", FEEL_FREE.sub(" ", text))
        words(INTERNAL, "internal material (CRM, model or factor vocabulary)")
        words(SNAKE, "an internal identifier")
        words(MENTION, "a Slack mention or member id")
        words(RAW_ID, "a raw vendor id")
    return tuple(found), text.casefold()


def _lookalike(word: str) -> bool:
    """'lO', 'OO', '$l,5OO', a lone 'O' or 'l': letters that read as digits, where a number would stand."""
    if word in ("O", "l", "|") or word.startswith("$"):
        return True
    inner = word.rstrip("kKmMxX")
    return len(word) >= 2 and ("O" in word or "|" in word or "," in inner or "." in inner)


def direction(classification: str) -> int:
    return {"expansion": 1, "at_risk": -1, "likely_churn": -1}.get(classification, 0)


def points(item: EvidenceItem, way: int) -> bool:
    return item.signal * way > 0


def _window(template: str, ref: Ref, refs: list[Ref]) -> str:
    """The words of the reference's own sentence closest to it, stopping at neighbouring references."""
    before_stop = max([r.end for r in refs if r.end <= ref.start] + [0])
    after_stop = min([r.start for r in refs if r.start >= ref.end] + [len(template)])
    before = SENTENCE.split(template[before_stop : ref.start])[-1]
    after = SENTENCE.split(template[ref.end : after_stop])[0]
    return " ".join(before.split()[-WINDOW:] + ["\u2063"] + after.split()[:WINDOW])


def _sentence(template: str, ref: Ref) -> str:
    return SENTENCE.split(template[: ref.start])[-1] + " " + SENTENCE.split(template[ref.end :])[0]


def claim_problems(template: str, rendered: Rendered) -> list[str]:
    """A reference that disagrees with the words around it: the wrong kind, the wrong sign, a typed sign."""
    found: list[str] = []
    for ref in rendered.refs:
        head, tail = template[: ref.start].rstrip(), template[ref.end :]
        glued_sign = template[: ref.start].endswith(("-", "–"))  # "- {{…" is a list bullet, "-{{…" a sign
        if head.endswith(("+", "−", "±", "﹢", "＋")) or glued_sign:
            found.append(f"{ref.token} has a sign typed before it; the renderer states direction")
        if (head[-1:].isalnum() and head == template[: ref.start]) or tail[:1].isalnum():
            found.append(
                f"{ref.token} is glued to a word or number ({template[max(0, ref.start - 3) : ref.end + 3]!r})"
            )
        item = rendered.items.get(ref)
        if item is None:
            continue
        around = facts.PHRASAL.sub(" ", normal(_window(template, ref, rendered.refs)))
        if ref.kind == "quote":  # the whole sentence: "we agree to what your team wrote: {{quote…}}"
            around = normal(_sentence(template, ref))
            hits = sorted(
                {m.group(0) for m in COMMITMENT.finditer(around)} | {m.group(0) for m in COMMERCIAL.finditer(around)}
            )
            if hits:
                found.append(f"{ref.token}: customer text is testimony, never a commitment ({', '.join(hits)})")
            continue
        if ref.kind != "fact":
            continue
        spec = facts.FIELDS[ref.key]
        groups = list(spec.forbid) + list(facts.KIND_FORBIDS.get(item.kind, ()))
        sign = _sign(item, ref.key, spec.direction)
        groups += ["growth"] if sign < 0 else ["fall"] if sign > 0 else []
        pattern = facts.claim_pattern(tuple(dict.fromkeys(groups)))
        hits = sorted({m.group(0) for m in pattern.finditer(around)}) if pattern else []
        if hits:
            found.append(f"{ref.token} ({item.kind}, {ref.key}) is written as {', '.join(repr(h) for h in hits)}")
    return found


def _sign(item: EvidenceItem, key: str, how: str) -> int:
    def num(k: str) -> float | None:
        v = item.facts.get(k)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    if how == "signed":
        v = num(key)
        return 0 if v is None else (v > 0) - (v < 0)
    if how.startswith("pair:"):
        _, before, now = how.split(":")
        a, b = num(before), num(now)
        return 0 if a is None or b is None else (b > a) - (b < a)
    return 0


def unquotable(item: EvidenceItem) -> str | None:
    """Why customer text may not be quoted back as written: markup, or a commercial term ("a 90% discount"
    quoted back would read as ours). None: it may be quoted."""
    text = " ".join(str(item.facts[k]) for k in facts.TESTIMONY_KEYS if k in item.facts)
    if MENTION.search(text) or "<" in text:
        return "the message carries Slack markup or mentions and cannot be quoted as written"
    plain = normal(text)
    if any(unicodedata.category(c) == "Sc" or c in SYMBOLS for c in plain) or any(
        p.search(plain) for p in (COMMERCIAL, COMMITMENT, QUOTE_RISK)
    ):
        return "the message names money, terms or a commitment; quoted back it would read as ours"
    return None


def quote_problems(rendered: Rendered) -> list[str]:
    return [f"{r.token}: {why}" for r, i in rendered.items.items() if r.kind == "quote" and (why := unquotable(i))]


def anchor_problems(anchors: list[str], used: dict[Ref, EvidenceItem], ctx: RenderContext) -> list[str]:
    """Every anchor is this customer's and points the verdict's way; every fact shown is anchored or neutral."""
    known = ctx.bundle.by_id()
    way = direction(ctx.classification)
    found = [f"anchor {a} is not in this customer's evidence" for a in anchors if a not in known]
    for a in anchors:
        if way and a in known and not any(points(i, way) for i in known[a]):
            kinds = ", ".join(f"{i.kind} {i.signal:+.2f}" for i in known[a])
            found.append(f"anchor {a} ({kinds}) does not point toward {ctx.classification}")
    for ref, item in used.items():
        if way and item.signal * way < 0:
            found.append(f"{ref.token} shows {item.kind}, which points away from {ctx.classification}")
        elif item.source_id not in anchors and item.signal != 0:
            found.append(f"{ref.token} shows {item.source_id}, which is not among the email's anchors")
    return found


def internal_values(ctx: RenderContext) -> set[str]:
    """The bundle's own internal strings (CRM stages and deal names, Slack member ids)."""
    return {
        str(v)
        for i in ctx.bundle.items
        for k, v in i.facts.items()
        if isinstance(v, str) and (f := facts.field(k)) is not None and not f.customer and f.unit == "label"
    }


def check(template: str, ctx: RenderContext, audience: Audience) -> tuple[Rendered, list[str]]:
    """Render a template and name everything wrong with it (nothing wrong: the text may be stored)."""
    rendered = render(template, ctx, audience)
    problems = list(rendered.problems)
    problems += prose_problems(prose_of(template), audience, internal_values(ctx), ctx.customer_name)
    problems += claim_problems(template, rendered)
    problems += quote_problems(rendered)
    return rendered, problems
