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

from spellchecker import SpellChecker
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

Side = Literal["vendor", "customer"]

_EMOJI = re.compile(r":[a-z0-9_+\-]+:|[\U0001F000-\U0001FAFF\u2600-\u27BF]")
# Slack's own markup in a message's `text`: mentions and channel links (<@U123>, <#C123|general>), links
# (<https://…|label>), and &, <, > escaped as entities; a quoted line ("> …", as "&gt; …" in the API) is someone
# else's words, often the vendor's, being answered; a forwarded email's header lines name people, not intents.
_MENTION = re.compile(r"<[@!#][^>|]*(?:\|([^>]*))?>")
_LINK = re.compile(r"<(?:https?|mailto):[^>|]*(?:\|([^>]*))?>")
_QUOTED = re.compile(r"^\s*(?:>|&gt;).*$", re.M)
_FORWARD = re.compile(
    r"^\s*(?:-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:?|(?:from|to|cc|sent|date):\s.*)\s*$",
    re.I | re.M,
)
# Trouble named as fixed ("you fixed the bug", "problem solved") is thanks, not trouble: read as "fixed".
_RESOLVED = re.compile(
    r"(?<!not\ )(?<!n't\ )(?<!never\ )(?<!yet\ )\b(?:fixed|solved|resolved|sorted\s+out)\s+(?:\w+\s+){0,2}?"
    r"(?:bug|issue|error|problem|outage|glitch|crash)e?s?\b"
    r"|\b(?:bug|issue|error|problem|outage|glitch|crash)e?s?\s+(?:is\s+|are\s+|was\s+|got\s+)?"
    r"(?:solved|fixed|resolved|gone|sorted)\b",
    re.I,
)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear)\b[^\n]*,\s*\n", re.I)
_SIGNOFF = re.compile(
    r"\n\s*(?:best|kind|warm)?\s*(?:regards|thanks|cheers|best|sincerely)\b[^\n]*(?:\n[^\n]*)?\s*$", re.I
)


def plain(text: str) -> str:
    """The words of a message: lower case, straight quotes, no emoji, no email greeting or sign-off, no Slack
    markup, quoted lines or forwarded-email headers; trouble said to be fixed reads "fixed"."""
    text = _FORWARD.sub("", _QUOTED.sub("", text))
    text = _LINK.sub(lambda m: m.group(1) or " ", _MENTION.sub(lambda m: m.group(1) or " ", text))
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    text = _SIGNOFF.sub("", _GREETING.sub("", text.strip()))
    text = _EMOJI.sub(" ", text.replace("’", "'").replace("‘", "'"))
    text = _RESOLVED.sub("fixed", text)
    return _LONG_WORD.sub(_untypo, re.sub(r"\s+", " ", text).strip().lower())


# Fast typing swaps two letters ("atlernative", "cancellaiton"): a longer word that is no English word (the
# word list of pyspellchecker), but becomes a word the rules or VADER know with two adjacent letters swapped
# back, is read as that word (bench.judgement: a typo in the one word that carried a message's intent made it
# read as another, or as nothing). "retried" is a word, so it is not read as "retired".
_LONG_WORD = re.compile(r"[a-z]{6,}")
KEY_WORDS = frozenset(
    """
    additional alternative alternatives another accounts agreement annoyed annoying answered archive backup
    benchmark benchmarking broken budget budgeted cancel cancelled canceled cancelling canceling cancellation
    cheaper cheapest competitor competitors competing comparing contract contracts crashed crashes crashing
    degraded departed departure discount discounts discontinue download editors employees engineers escalated
    escalation evaluate evaluating evaluation expand expanding expansion expensive expire expires export
    exported exporting exports extend extract failed failing failure frustrated frustrating handed handover
    headcount increase increasing incident integration leaving licence licences license licenses logins
    members migrate migrating migration notice onboard onboarding options outage outages platform pricing
    products provider providers purchase quotas records renewal renewing renewed replaced replacing reports
    resigned retired rivals scaling shortlist shortlisted solution solutions stopped subscription
    subscriptions switch switching taking terminate terminated termination timing unacceptable unusable
    upgrade upgrading vendor vendors waiting workspaces""".split()
)


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """KEY_WORDS, VADER's words, and every word the intent patterns spell out ("single", "longer", ...)."""
    patterns = (EXPANSION, CANCEL_TALK, LEAVING, EXPORT, COMPETITOR, PRICING, TROUBLE, HANDOVER, SOMEONE_LEFT)
    spelled = {w for p in (*patterns, BROKEN_EXPORT, ONE_THING_EXPORT, _ADMIN) for w in _LONG_WORD.findall(p.pattern)}
    return KEY_WORDS | spelled | {w for w in _vader().lexicon if len(w) >= 6 and w.isalpha()}


@lru_cache(maxsize=1)
def _english() -> SpellChecker:
    return SpellChecker(distance=1)


def _untypo(m: re.Match[str]) -> str:
    word, known = m.group(0), _vocabulary()
    if word in known or word in _english():
        return word
    for j in range(len(word) - 1):
        swapped = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        if swapped in known:
            return swapped
    return word


_SEAT = (
    r"(?:seats?|licen[cs]es?|users?|people|ppl|logins?|members?|accounts?|agents?|headcount|seat\s+count|"
    r"editors|viewers|workspaces|employees|engineers|developers|reps|hires|staff|licen[cs]e\s+count)"
)
_GROW_VERB = (
    r"(?:add|adding|added|buy|buying|purchase|expand|expanding|extend|extending|increase|increasing|bump|bumping|"
    r"grow|growing|scale|scaling|upgrade|upgrading|onboard|onboarding|roll(?:ing)?\s+(?:it\s+|this\s+)?out|"
    r"go|going|move|moving|license|licence|get)"
)
_MORE = r"(?:more|additional|extra|another|new|further)"
_PLAN = r"(?:plan|tier|package|contract|subscription|edition|module|add-?on|limits?|quota|cap|access)"
_SMALLER = re.compile(
    r"\b(?:cheaper|smaller|downgrad\w*|reduce|fewer|less|lower\s+tier|cut\w*|unused|drop\s+to|go\s+down\s+to)\b"
    rf"|\bpay(?:ing)?\s+for\s+\d+\s+(?:\w+\s+)?{_SEAT}\b(?:\s+\w+){{0,3}}?\s+(?:only\s+)?(?:use|using|need)\b"
)
# Adding one person to a group, role or project is administration, not buying seats.
_ADMIN = re.compile(
    rf"\b(?:add|move|assign|invite)\w*\s+(?:a|an|one|this|that|the)\s+(?:\w+\s+)?{_SEAT}\s+(?:to|into)\s+"
    r"(?:a|an|the|this|that|our|my)\s+(?:\w+\s+)?(?:group|team|role|project|channel|folder|space|board|dashboard)s?\b"
)
EXPANSION = re.compile(
    rf"""
    \b{_MORE}\s+(?:\w+\s+){{0,2}}{_SEAT}\b                       # more seats, 60 additional licenses
  | \b\d+\s+(?:{_MORE}\s+)?{_SEAT}\b                           # 25 seats, 10 more licences
  | \b(?:from\s+)?\d+\s+to\s+\d+\s+{_SEAT}\b                   # from 40 to 55 seats
  | \b{_GROW_VERB}\b(?:\s+[\w'-]+){{0,4}}?\s+(?:{_SEAT}|{_PLAN})\b   # add seats, upgrade to the Business tier
  | \b(?:higher|bigger|larger|unlimited)\s+(?:\w+\s+)?{_PLAN}\b   # higher limits, a bigger tier
  | \benterprise\s+(?:plan|tier|package|edition)\b | \bupgrad(?:e|es|ing)\b
  | \b(?:hitting|close\s+to|reached|over)\s+(?:our\s+|the\s+)?(?:\w+\s+)?(?:quota|cap|limits?|allowance)\b
  | \b{_MORE}\s+(?:api\s+)?(?:calls|requests|storage|credits|capacity|runs)\b
  | \bapproved\s+the\s+(?:expansion|upgrade)\b
  | \b(?:enable|open|extend|unlock)\s+(?:\w+\s+){{0,3}}?for\s+(?:our\s+|the\s+)?(?:whole|entire|other)\b
  | \boutgr[oe]wn?\b | \boutgrowing\b
  | \b(?:want|wants|asked)\s+(?:to\s+)?(?:in|join|access)\b
  | \b(?:need|needs|want|wants|require|requires)\s+(?:\w+\s+){{0,2}}?(?:seats?|licen[cs]es?|editors|workspaces)\b
  | \b(?:ran|run|running)\s+out\s+of\s+(?:\w+\s+){{0,2}}?{_SEAT}\b | \bbump(?:ing)?\s+(?:us|it|that)\s+up\b
  | \b(?:go|going|roll\w*|deploy\w*|launch\w*|use|using|adopt\w*|expand\w*)\s+(?:\w+\s+){{0,3}}?
      (?:company|org|organi[sz]ation)[\s-]wide\b
  | \b(?:expand|extend|roll)\w*\s+(?:\w+\s+)?to\s+(?:the\s+)?(?:whole|entire|rest\s+of|other|all)\b
  | \bapproved\s+(?:the\s+)?budget\s+for\b
  | \b\d+\s+new\s+(?:\w+\s+){{0,2}}?(?:joining|starting|coming\s+on)\b
  | \b(?:how\s+much|price|pricing|cost|quote|seats?|licen[cs]es?)\s+(?:\w+\s+){{0,2}}?for\s+
      (?:another|a\s+second|an\s+extra)\s+(?:team|department|office|division|region)\b
  | \bstart\s+using\s+(?:it|this|the\s+tool|the\s+platform)\s+(?:too|as\s+well)\b
  | \b(?:bigger|wider|larger|broader)\s+(?:rollout|roll-out|deployment)\b | \benterprise\s+features\b
  | \btop(?:ping)?\s+(?:it\s+|us\s+|them\s+)?up\b
  | \b(?:provide|give|grant|set\s+up|create)\s+(?:them|those|these|the\s+new\s+\w+)\s+(?:with\s+)?
      (?:access|accounts|logins|seats|licen[cs]es)\b
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
    r"(?:plan|plans|planning|going|gonna|wanna|gotta|might|may|will|want|wants|decided|decide|need|needs|have|"
    r"intend|intending|"
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
  | (?<!after\ the\ )(?<!after\ our\ )(?<!when\ the\ )(?<!when\ our\ )(?<!once\ the\ )(?<!once\ our\ )
    (?<!if\ the\ )(?<!before\ the\ )(?<!before\ our\ )
    \b(?:agreement|contract|subscription)\s+(?:\w+\s+){0,2}(?:ends|end\s+on|lapses?|expires?)\b
  | \b(?:let|letting|allow|allowing)\s+(?:\w+\s+){0,2}?(?:agreement|contract|subscription|licen[cs]es?|plan)\s+
      (?:expire|lapse|run\s+out|end)\b
  | \bsunset\w*\s+(?:the\s+|this\s+|your\s+)?(?:tool|platform|product|subscription|contract|account|service)\b
  | \bphas(?:e|ing)\s+(?:you|it)\s+out\b
  | \b(?:turn|switch|shut)(?:ing)?\s+off\s+(?:the\s+)?auto[\s-]?renew\w* | \bdisabl\w*\s+(?:the\s+)?auto[\s-]?renew\w*
  | \b(?:stop|stopping|cancel|opt\s+out\s+of)\s+(?:the\s+|our\s+)?(?:auto[\s-]?)?renewal\b
  | \bmove\s+on\s+from\s+(?:the|this|your|you)\b
  | \bconsolidat\w*\s+(?:our\s+)?(?:tools|vendors|platforms|software|stack)\b
  | \b(?:drop|dropping|ditch\w*|get\s+rid\s+of|move\s+away\s+from|moving\s+away\s+from)\s+(?:this|the|your)\s+
      (?:platform|tool|product|service|software|app|system|solution|subscription)\b
  | \b(?:don't|do\s+not|won't|will\s+not|no\s+longer)\s+need\s+(?:the\s+|this\s+|your\s+)?
      (?:tool|platform|product|service|software|subscription|licen[cs]es|seats|it|you)\b
      (?:\s+\w+){0,2}?\s*(?:anymore|any\s+more)
  | \bnot\s+(?:be\s+)?(?:charged|billed|invoiced)\s+again\b
  | \b(?:moving|switching|migrating)\s+to\s+something\s+else\b
  | \blapse\b | \bwind(?:ing)?\s+down\b | \bdiscontinu\w*\b | \bstop\s+using\b
  | \blast\s+term\b | \bour\s+last\s+(?:year|renewal)\b | \blast\s+year\s+with\s+(?:you|your|this)\b
  | \bno\s+renewal\b | \bnothing\s+(?:will\s+)?renews?\b | \bnon-?renewal\b | \bno\s+to\s+renew\w*\b
  | \b(?:we're|we\s+are)\s+out\s+(?:at|after)\s+(?:the\s+)?renewal\b
  | \blet\s+(?:this\s+one|this\s+tool|the\s+(?:tool|platform|subscription))\s+go\b
  | \bnot\s+(?:\w+\s+){0,2}?(?:proceed|go\s+ahead|move\s+forward|continue)\w*\s+with\s+(?:the\s+|our\s+)?
      (?:renewal|contract|subscription|agreement)\b
  | \bending\s+things\b | \b(?:form|process|steps|procedure)\s+(?:for|to|of)\s+cancel\w*
    """,
    re.X,
)
EXPORT = re.compile(
    r"""
    \bexport(?:s|ed|ing)?\b(?!\s+(?:guide|to\s+our\s+warehouse))
  | \bdump\b | \bbulk\s+(?:download|export)\b | \bbackup\b | \barchive\s+of\b
  | \bextract(?:s|ed|ing|ion)?\b(?!\s+(?:value|insights?|meaning))
  | \b(?:download|extract|pull|get|copy|retriev\w*)\s+(?:\w+\s+){0,3}(?:all|every|everything|complete|whole)\b
  | \b(?:get|pull|take|move|bring)\s+(?:\w+\s+){0,4}?(?:data|records|reports|history|files|docs|documents|content|
      tickets|projects)\s+(?:\w+\s+)?(?:out|with\s+us|elsewhere)\b
  | \b(?:take|taking)\s+(?:all\s+)?(?:of\s+)?our\s+data\b
  | \bas\s+(?:a\s+)?(?:csv|file|files|spreadsheet|excel|json|zip)\b | \bcopy\s+of\s+(?:our|the|my)\s+data\b
  | \b(?:offline|local)\s+copy\b | \btakeout\b | \bour\s+data\s+back\b
  | \b(?:csv|excel|spreadsheet|json|xlsx)\s+(?:file\s+|export\s+)?of\s+(?:all|every|our)\b | \bmachine[\s-]readable\b
  | \b(?:need|needs|want|wants|like)\s+all\s+(?:of\s+)?(?:our\s+|the\s+)?(?:\w+\s+)?(?:data|records|history)\b
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
  | \b(?:pilot|proof\s+of\s+concept|poc)\s+with\b | \btrial(?:l?ing)?\s+(?:it|a|another|them)\b
  | \bbenchmark\w*\b | \bquotes?\s+from\b
  | \bcompar(?:e|ing)\s+(?:you|your|us)\b
  | \bcompeting\s+(?:product|tool|platform|solution|vendor|offer|service)s?\b
  | \bsimilar\s+(?:product|tool|platform|solution|vendor|app|service)s?\b
  | \btrial\w*\s+of\s+(?:a|an|another)\b | \brf[piq]\b | \btender\b
  | \bwhat\s+else\s+is\s+out\s+there\b | \bmarket\s+(?:check|scan|review)\b | \bshop(?:ping)?\s+around\b
  | \blook(?:ing)?\s+elsewhere\b | \b(?:go|going|move|moving)\s+with\s+(?:\w+\s+){1,2}instead\b
  | \breplac\w*\s+(?:this|it|you|your\s+\w+|the\s+(?:tool|platform|product|app|system|software))\s+with\b
  | \ball-in-one\s+(?:suite|platform|tool)\b
  | (?<!your\ )\bdemo\s+from\s+(?!you\b|your\b|the\s+(?:team|vendor)\b)
    """,
    re.X,
)
PRICING = re.compile(
    r"""
    \bdiscount\w*\b | \bpric(?:e|es|ing|ey|y|ier)\b | \bcosts?\b | \bexpensive\b | \bcheap\w*\b
  | \b(?:better|lower)\s+(?:rate|deal|offer|terms)\b | \buplift\b
  | \brenewal\s+(?:quote|number|amount|figure)\b
  | \b(?:paying|pay|costs?|spend\w*)\s+(?:\w+\s+)?too\s+much\b | \bpay\s+less\b | \b\d+\s*(?:%|percent)\s+off\b
  | \b(?:lock|locked|keep|same|last\s+year'?s|current|existing|flat|special)\s+
      (?:(?!error|response|success|failure|conversion|open|click|bounce)\w+\s+)?rates?\b(?!\s+limit)
  | \b(?:invoice|bill|price|cost|fee|quote|charge)s?\s+(?:\w+\s+){0,2}?(?:go|went|gone|going|goes)\s+up\b
  | \b(?:quote|invoice|bill|price|cost|renewal|fee|charge)s?\b.{0,40}\b(?:over|above|higher\s+than|more\s+than)\s+
      (?:what\s+)?(?:we\s+)?(?:expected|budgeted|planned|anticipated)\b
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
  | \bdegraded\b | \b(?:can't|cannot|can\s+not|unable\s+to)\s+(?:load|log|use|save|access|open|sign|login|edit)\b
  | \bfed\s+up\b
  | \bnot\s+working\b | \b(?:doesn't|does\s+not|don't|isn't|won't)\s+(?:work|load|sync|open|save)\b
  | \bstopped\s+(?!using\b)\w+ing\b | \bstuck\b | \bblank\s+(?:page|screen)\b | \bnothing\s+(?:loads|works)\b
  | \bdowntime\b | \blost\s+(?:a\s+|an\s+|two\s+|\d+\s+)?(?:day|days|hours?|work|data)\b | \bworse\b | \bregress\w*\b
  | \bwithout\s+(?:solving|fixing|resolving|an?\s+(?:answer|reply|fix))\b | \bfr(?:ee|o)z\w*\b
  | \bstill\s+waiting\b | \bwaiting\s+for\s+(?:a\s+|an\s+)?(?:fix|reply|answer|response|update)\b
  | \b(?:returning|throwing|getting)\s+(?:\w+\s+)?[45]\d\ds?\b | \bblocked\b | \burgent\w*\b
  | \b(?:nobody|no\s+one|none\s+of\s+us)\s+(?:\w+\s+){0,4}?can\s+(?:log|sign|access|use|open|see)\b
  | \b(?:didn't|did\s+not|doesn't|won't|wasn't|aren't)\s+(?:arrive|run|sync|load|work|show|update|save|trigger)\b
  | (?<!no\ )(?<!not\ a\ )\b(?:real|big|serious|major)\s+(?:problem|issue)\b
  | \bstill\s+no\s+(?:resolution|fix|answer|reply|response)\b
  | \bimpact\w*\s+(?:our|the)\s+(?:ops|operations|business|team|work|customers)\b | \bkeeps?\s+spinning\b
  | \b(?:don't|doesn't|do\s+not|does\s+not)\s+add\s+up\b
  | \b(?:data|export|report|sync|import)\w*\s+(?:\w+\s+){0,2}?(?:was|is|were|are)\s+incomplete\b
  | \bmissing\s+(?:data|rows|records)\b | \brows\s+missing\b
  | \b(?:terrible|awful|horrible)\b | \btakes?\s+forever\b | \bquit\s+unexpectedly\b | \bkeeps\s+quitting\b
    """,
    re.X,
)
HANDOVER = re.compile(
    r"""
    \bleft\s+(?:us|the\s+(?:company|business|team|org\w*|firm)|our\s+(?:company|team|org\w*))\b
  | \bhas\s+left\b\s*[,.;!]
    # taking over from someone or their role, not over a report; replacing a person, not the laptops
  | \b(?:taking|took|taken)\s+over\s+
      (?:from\b|for\b|as\b|(?:\w+\s+){0,2}?\w+'s\b|the\s+(?:account|relationship|admin|role|ownership)\b)
  | \bi\s+(?:have\s+|'ve\s+)?replaced\b | \w+'s\s+replacement\b
  | \breplacing\s+(?:him|her|them)\b
  | \bno\s+longer\s+(?:the|our)\s+(?:admin|owner|contact|champion|point)\b
  | \bleft\s+(?:us\s+)?(?:last|this|earlier\s+this)\s+
      (?:week|month|year|quarter|friday|monday|tuesday|wednesday|thursday)\b
  | \b(?:questions|everything|requests)\s+(?:now\s+)?(?:come|go)\s+to\s+me\b
  | \bno\s+longer\s+(?:with|here|at|works|part)\b | \bnot\s+with\s+us\b | \bmoved\s+on\b | \bdeparted\b
  | \bdeparture\b | \bresigned\b | \bstepped\s+down\b | \bstepping\s+in\s+for\b | \blaid\s+off\b
    # words with an everyday sense too: an app that quit, a workflow retired, the last day of the month
  | (?<!app\ )(?<!it\ )\bquit\b(?!\s+(?:on|unexpectedly|again|working|the\s+app))
  | \bretired\b(?!\s+(?:the|our|a|an|that|this|it|some)\b) | \b(?:was|were|been|got)\s+let\s+go\b
  | 's\s+last\s+day\b | \blast\s+day\s+(?:was|is|will\s+be|here|at)\b
  | \bmoved\s+to\s+(?:another|a\s+new|a\s+different)\s+(?:company|job|role|employer)\b
  | \b(?:doesn't|does\s+not|don't)\s+work\s+(?:here|for\s+us|with\s+us)\b
  | \bi(?:'ve|\s+have)?\s+inherited\s+(?:the|this|our)\s+(?:tool|account|platform|subscription|contract)\b
  | \bhanded\s+(?:over\s+)?to\s+me\b | \bpicking\s+up\s+(?:the|this|our)\s+account\b
  | \b(?:new|main)\s+(?:point\s+of\s+)?contact\b | \bnew\s+(?:owner|poc)\b | \bpoint\s+person\b
  | \b(?:contact|reach|ping|email|talk\s+to)\s+me\s+(?:instead|now|going\s+forward|from\s+now)\b
  | \bupdate\s+your\s+records\b
  | \bloop\s+me\s+in\b | \bon\s+(?:their|his|her)\s+way\s+out\b | \bno\s+more\s+(?:working|with\s+us)\b
  | \blast\s+day\s+(?:is\s+|was\s+)?(?:today|tomorrow|monday|tuesday|wednesday|thursday|friday)\b
  | \bi(?:'ll|\s+will)\s+be\s+(?:the|your)\s+(?:new|main)\s+(?:contact|point\s+of\s+contact|owner)\b
  | \bi(?:'m|\s+am)\s+(?:now\s+)?(?:responsible|in\s+charge|managing)\b
  | \bi\s+will\s+handle\b.*\bfrom\s+now\b
    """,
    re.X,
)

# An export that fails is trouble with a feature, not an ask to take the data out ("our exports keep failing").
BROKEN_EXPORT = re.compile(
    r"\bexports?\s+(?:\w+\s+){0,3}?(?:fail\w*|broke\w*|error\w*|stuck|hang\w*|crash\w*|tim(?:es|ed|ing)\s+out|"
    r"(?:is|are)\s+not\s+working|(?:doesn't|don't)\s+work|slow\w*|(?:was|is|were|are)\s+(?:incomplete|wrong|empty))"
)
# Exporting one report or chart to a file is using a feature, not taking the data out.
ONE_THING_EXPORT = re.compile(
    r"\bexport\w*\s+(?:a|one|this|that|the|my)\s+(?:single\s+)?(?:report|dashboard|chart|view|table|page|graph)\s+"
    r"(?:to|as|in|into)\s+(?:a\s+)?(?:pdf|png|image|excel|csv|slides?)\b"
)
# The customer's own payment going wrong and put right ("the card payment failed, we retried and it went
# through") is about its invoice, not trouble with the service.
OWN_PAYMENT = re.compile(r"\b(?:paid|payment|invoice|remittance|wire|bank\s+transfer|po|ap)\b")

# "A user who left our team" is an admin question about someone, not the champion handing over.
SOMEONE_LEFT = re.compile(
    r"\b(?:a|an|the|this|that)\s+(?:user|member|employee|person|colleague|guy|someone|teammate)\s+who\s+(?:has\s+)?"
    r"(?:left|quit|retired)\b"
)

Intent = Literal["handover", "cancel", "export", "competitor", "expansion", "pricing", "trouble"]


def intent(text: str) -> Intent | None:
    """The customer's intent in one message, the strongest first: a handover, leaving, getting data out,
    another vendor, asking to grow, the price, trouble. An ask to grow wins over a price mention ("pricing for
    the Enterprise plan"); a cheaper or smaller plan is a price question, not growth."""
    t = plain(text)
    if HANDOVER.search(t) and not SOMEONE_LEFT.search(t):
        return "handover"
    if CANCEL_TALK.search(t) or LEAVING.search(t):
        return "cancel"
    if EXPORT.search(t) and not BROKEN_EXPORT.search(t) and not ONE_THING_EXPORT.search(t):
        return "export"
    if COMPETITOR.search(t):
        return "competitor"
    if EXPANSION.search(t) and not _SMALLER.search(t) and not _ADMIN.search(t):
        return "expansion"
    if PRICING.search(t) or _SMALLER.search(t) and re.search(rf"\b{_PLAN}\b|\bpackage\b|\bdeal\b", t):
        return "pricing"
    if TROUBLE.search(t) and not (OWN_PAYMENT.search(t) and re.search(r"\b(?:paid|went\s+through|settled)\b", t)):
        return "trouble"
    return None


# Words B2B customers praise with in Slack that VADER's lexicon (written for general social text) does not
# score, or scores for another sense; valences on VADER's -4..4 scale, set on the tuning phrasings.
SLANG = {"rock": 2.0, "rocks": 2.0, "fixed": 1.0, "smooth": 1.5, "slick": 1.5, "shoutout": 1.5, "legend": 2.0}


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(SLANG)
    return analyzer


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
