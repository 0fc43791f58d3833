"""Reading one Slack message: who speaks (the vendor's own team or the customer), what the customer asks for
(intent), and in what tone. Pure functions; connectors/slack.py turns the readings into evidence.

Intent rules are word families rather than fixed phrases, so they survive paraphrase: a verb of growth near a
seat word, a number next to seats / licences / users, a question form asking for more; cancelling, terminating,
not renewing or letting a contract end; getting the data out; another vendor; the price. They were written
against the tuning half of sandbox/phrases.py only (issue #12): the held-out half grades them.
Tone is VADER (vaderSentiment), a lexicon and rules made for short social text, on the message without its
greeting and sign-off.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

Side = Literal["vendor", "customer"]

_EMOJI = re.compile(r":[a-z0-9_+\-]+:|[\U0001F000-\U0001FAFF\u2600-\u27BF]")
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear)\b[^\n]*,\s*\n", re.I)
_SIGNOFF = re.compile(
    r"\n\s*(?:best|kind|warm)?\s*(?:regards|thanks|cheers|best|sincerely)\b[^\n]*(?:\n[^\n]*)?\s*$", re.I
)


def plain(text: str) -> str:
    """The words of a message: lower case, straight quotes, no emoji, no email greeting or sign-off."""
    text = _SIGNOFF.sub("", _GREETING.sub("", text))
    text = _EMOJI.sub(" ", text.replace("’", "'").replace("‘", "'"))
    return re.sub(r"\s+", " ", text).strip().lower()


_SEAT = r"(?:seats?|licen[cs]es?|users?|people|logins?|members?|accounts?|agents?|headcount|seat\s+count)"
_GROW_VERB = (
    r"(?:add|adding|added|buy|buying|purchase|expand|expanding|extend|extending|increase|increasing|bump|bumping|"
    r"grow|growing|scale|scaling|upgrade|upgrading|onboard|onboarding|roll(?:ing)?\s+(?:it\s+|this\s+)?out|"
    r"go|going|move|moving|license|licence|get)"
)
_MORE = r"(?:more|additional|extra|another|new|further)"
_PLAN = r"(?:plan|tier|package|contract|subscription|edition|module|add-?on|limits?|quota|cap|access)"
_SMALLER = re.compile(r"\b(?:cheaper|smaller|downgrad\w*|reduce|fewer|less|lower\s+tier|cut\w*)\b")
EXPANSION = re.compile(
    rf"""
    \b{_MORE}\s+(?:\w+\s+){{0,2}}{_SEAT}\b                       # more seats, 60 additional licenses
  | \b\d+\s+(?:{_MORE}\s+)?{_SEAT}\b                           # 25 seats, 10 more licences
  | \b(?:from\s+)?\d+\s+to\s+\d+\s+{_SEAT}\b                   # from 40 to 55 seats
  | \b{_GROW_VERB}\b(?:\s+[\w'-]+){{0,4}}?\s+(?:{_SEAT}|{_PLAN})\b   # add seats, upgrade to the Business tier
  | \b(?:higher|bigger|larger|unlimited)\s+(?:\w+\s+)?{_PLAN}\b   # higher limits, a bigger tier
  | \benterprise\s+(?:plan|tier|package|edition)\b | \bupgrad(?:e|es|ing)\b
  | \b(?:hitting|close\s+to|reached|over)\s+(?:our\s+|the\s+)?(?:\w+\s+)?(?:quota|cap|limits?)\b
  | \boutgr[oe]wn?\b
  | \b(?:want|wants|asked)\s+(?:to\s+)?(?:in|join|access)\b
    """,
    re.X,
)
# Cancel talk is about the service: cancelling the subscription, contract or plan, cancelling at renewal,
# not renewing. Cancelling a meeting, call or invite is ordinary work, so a meeting word within the next five
# words (or "late"/"last-minute" before "cancellation") rules an occurrence out; a bare "cancel" counts only
# after a statement of intent ("we plan to cancel.", "how do we cancel?"), not in "can we cancel tomorrow's
# sync?".
_MEETING = (
    r"(?:meeting|sync|call|invite|invitation|demo|session|stand-?up|check-?in|catch-?up|appointment|"
    r"webinar|workshop|training|kick-?off|qbr|huddle|1:1|one-on-one|interview|event|lunch)s?"
)
_NO_MEETING_NEXT = rf"(?!(?:\s+[\w'’:-]+){{0,4}}?\s+{_MEETING}\b)"
_CANCEL = r"cancel(?:s|l?ed|l?ing)?"
_SERVICE = (
    r"(?:subscriptions?|contracts?|accounts?|plans?|licen[cs]es?|seats?|renewal|services?|workspace|"
    r"membership|term|agreement)"
)
_INTENT = (
    r"(?:plan|plans|planning|going|want|wants|decided|decide|need|needs|have|intend|intending|"
    r"considering|thinking\ about|looking|like|we['’]ll|we\ will|we\ are|we['’]re|"
    r"how\ (?:do|can|would|should)\ (?:we|i)|how\ to)"
)
_STOPS = r"(?:at|before|after|when|once|if|by|now|soon)"
_NOT_RENEWING = r"(?:be|going|planning|plan|intend|intending|looking|want|wanting|able|to)"
CANCEL_TALK = re.compile(
    rf"""
    # how cancellation works; the cancellation policy
    (?<!late\ )(?<!minute\ )\bcancell?ations?\b {_NO_MEETING_NEXT}
    # cancel our subscription; cancel at renewal; cancel at the end of the term
  | \b{_CANCEL}\b {_NO_MEETING_NEXT} (?:\s+[\w'’:-]+){{0,5}}? \s+{_SERVICE}\b
    # the subscription was cancelled; we plan to cancel
  | \b{_SERVICE}\s+(?:(?:is|was|will|be|been|has|have|got|being|getting|to)\s+){{0,3}}
      {_CANCEL}\b {_NO_MEETING_NEXT}
    # we want to cancel. how do we cancel? we'll cancel before ...
  | \b{_INTENT}\s+(?:to\s+)?{_CANCEL}\b (?=\s*(?:[.?!,;]|$)|\s+{_STOPS}\b)
    # not renewing; won't renew; decided not to renew
  | (?:\bnot|n['’]t|\bnever|\bno\s+plans?\s+to|\bagainst)\s+(?:{_NOT_RENEWING}\s+){{0,3}}renew(?:ing)?\b
""",
    re.I | re.X,
)
# Leaving without the word "cancel": ending, terminating or not continuing the contract, letting it lapse.
LEAVING = re.compile(
    r"""
    \bterminat(?:e|es|ed|ing|ion)\s+(?:\w+\s+){0,3}?(?:contract|agreement|subscription|account|clause|terms?)\b
  | \btermination\b
  | (?:\bnot|n't|\bnever)\s+(?:\w+\s+){0,3}(?:continue|continuing|extend|extending)\b
  | \bnotice\s+period\b
  | \b(?:end|ending|close|closing|exit|leave|leaving)\s+(?:\w+\s+){0,2}(?:agreement|contract|subscription|account)\b
  | \b(?:agreement|contract|subscription)\s+(?:\w+\s+){0,2}(?:ends|lapses?|expires?)\b
  | \blapse\b | \bwind(?:ing)?\s+down\b | \bdiscontinu\w*\b | \bstop\s+using\b
  | \blast\s+term\b | \bour\s+last\s+(?:year|renewal)\b
    """,
    re.X,
)
EXPORT = re.compile(
    r"""
    \bexport(?:s|ed|ing)?\b(?!\s+(?:guide|to\s+our\s+warehouse))
  | \bdata\s+dump\b | \bbulk\s+(?:download|export)\b | \bbackup\b | \barchive\s+of\b
  | \b(?:download|extract|pull|get|copy)\s+(?:\w+\s+){0,3}(?:all|every|everything|complete|whole)\b
  | \b(?:all|every|everything)\s+(?:\w+\s+){0,3}(?:data|records|reports|history)\s+out\b
  | \bcopy\s+of\s+(?:all|our)\b | \bmigrat\w*\s+(?:tool|off|away)\b | \bmove\s+off\b
    """,
    re.X,
)
COMPETITOR = re.compile(
    r"""
    \bcompetitor\w*\b | \balternatives?\b | \bevaluat\w*\b | \bshortlist\w*\b | \bbake-?off\b | \brivals?\b
  | \bswitch(?:ing)?\s+to\b | \b(?:another|other|different)\s+(?:\w+\s+)?(?:vendors?|tools?|options?|platforms?|
      products?|providers?|apps?|solutions?)\b
  | \bpilot\s+with\b | \btrial(?:l?ing)?\s+(?:it|a|another|them)\b | \bbenchmark\w*\b | \bquotes?\s+from\b
  | \bcompar(?:e|ing)\s+(?:you|your|us)\b
    """,
    re.X,
)
PRICING = re.compile(
    r"""
    \bdiscount\w*\b | \bprice\b | \bpricing\b | \bcosts?\b | \bexpensive\b | \bcheaper\b | \b(?:better|lower)\s+rate\b
  | \bbudget\w*\b | \bbill\b | \bspend\b | \bper[\s-]seat\b | \bafford\w*\b
    """,
    re.X,
)
TROUBLE = re.compile(
    r"""
    \boutages?\b | \b(?:is|are|went|was)\s+down\b | \bdown\s+again\b | \bslow\w*\b | \blag\w*\b | \bbugs?\b
  | \bbroken\b | \bbroke\b | \bcrash\w*\b | \berrors?\b | \bfail\w*\b | \btim(?:ing|es|ed)\s+out\b | \bunusable\b
  | \bincidents?\b | \bescalat\w*\b | \bwaiting\s+on\b | \b(?:hasn't|has\s+not|haven't|not)\s+(?:been\s+)?answered\b
  | \bno\s+(?:reply|answer|response)\b | \bnobody\s+(?:has\s+)?(?:replied|answered|noticed)\b
  | \bfrustrat\w*\b | \bannoy\w*\b | \bunacceptable\b | \bdisappoint\w*\b | \bwrong\b | \blogged\s+out\b
  | \bdegraded\b | \bcan't\s+(?:load|log|use)\b | \bfed\s+up\b
    """,
    re.X,
)
HANDOVER = re.compile(
    r"""
    \bleft\s+the\s+(?:company|business|team)\b | \btaking\s+over\b | \btook\s+over\b | \breplac(?:ed|ing)\b
  | \bno\s+longer\s+(?:with|here|at|works)\b | \bmoved\s+on\b | \bdeparted\b | \bresigned\b
  | \bhanded\s+(?:over\s+)?to\s+me\b
  | \b(?:new|main)\s+(?:point\s+of\s+)?contact\b
    """,
    re.X,
)

Intent = Literal["handover", "cancel", "export", "competitor", "expansion", "pricing", "trouble"]


def intent(text: str) -> Intent | None:
    """The customer's intent in one message, the strongest first: a handover, leaving, getting data out,
    another vendor, asking to grow, the price, trouble. An ask to grow wins over a price mention ("pricing for
    the Enterprise plan"); a cheaper or smaller plan is a price question, not growth."""
    t = plain(text)
    if HANDOVER.search(t):
        return "handover"
    if CANCEL_TALK.search(t) or LEAVING.search(t):
        return "cancel"
    if EXPORT.search(t):
        return "export"
    if COMPETITOR.search(t):
        return "competitor"
    if EXPANSION.search(t) and not _SMALLER.search(t):
        return "expansion"
    if PRICING.search(t) or _SMALLER.search(t) and re.search(rf"\b{_PLAN}\b|\bpackage\b", t):
        return "pricing"
    if TROUBLE.search(t):
        return "trouble"
    return None


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def tone(text: str) -> float:
    """VADER's compound score in [-1, 1] of the message's own words."""
    return float(_vader().polarity_scores(plain(text))["compound"])


def side(
    message: dict[str, Any],
    own_team: str | None,
    user: dict[str, Any] | None,
    customer_domain: str | None,
    poster_team: str | None = None,
) -> Side:
    """Who wrote it. Slack Connect stamps each message with the poster's team (`user_team`, else `team`): the
    tenant's own workspace is the vendor. Without the stamp: the team stamped on another message of the same
    poster (`poster_team`: a poster belongs to one team, and an old channel stamps only some messages), the
    poster's own team, then the poster's email domain against the customer's. With nothing to tell, the
    customer (as before speakers were told apart)."""
    stamp = message.get("user_team") or message.get("team") or poster_team
    if stamp and own_team:
        return "vendor" if stamp == own_team else "customer"
    if user:
        if own_team and user.get("team_id"):
            return "vendor" if user["team_id"] == own_team else "customer"
        email = str((user.get("profile") or {}).get("email") or "")
        domain = email.rpartition("@")[2].lower()
        if domain and customer_domain:
            return "customer" if domain == customer_domain.lower() else "vendor"
    return "customer"
