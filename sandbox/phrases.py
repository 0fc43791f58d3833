"""Slack phrase banks for the sample workspace, each split in two: `tuning` phrasings (the only ones the Slack
rules may be written against) and `held_out` phrasings (never read while tuning; bench.judgement and the
phrasing table test grade the rules on them). The held-out split also owns one whole message style
(`HELD_OUT_STYLE`: an email pasted into Slack, greeting and sign-off), never used by tuning customers.

Each bank says what a reader should find: the customer's intent, the tone, and which side speaks (the vendor's
own team talks about exports, seats and pricing too, and must not be read as the customer).
Written by hand for issue #12; "{champion}" is filled with the departed champion's name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from sandbox.phrases_tuning import MORE

Intent = Literal["expansion", "cancel", "export", "competitor", "pricing", "trouble", "handover", "none"]
Tone = Literal["positive", "negative", "neutral"]
Split = Literal["tuning", "held_out"]


@dataclass(frozen=True)
class Bank:
    intent: Intent
    tone: Tone | None  # None: the tone is not what the bank is about (an expansion ask may be neutral or glad)
    speaker: Literal["customer", "vendor"]
    tuning: tuple[str, ...]
    held_out: tuple[str, ...]

    def pick(self, split: Split, rng: random.Random) -> str:
        return rng.choice(self.tuning if split == "tuning" else self.held_out)


BANKS: dict[str, Bank] = {
    "expansion": Bank(
        "expansion",
        None,
        "customer",
        (
            "We're rolling this out to the EMEA team next month - can we add seats?",
            "Is there a plan with higher limits? We're close to our agent quota.",
            "Could you send pricing for the Enterprise plan?",
            "What would it take to add 25 seats and the SSO add-on?",
            "We need 10 more licences before the new hires start on Monday.",
            "Can we upgrade to the Business tier this quarter?",
            "Two more departments want in, how do we expand our plan?",
            "Please add 8 users to our subscription, the design team is joining.",
            "We'd like to buy more seats for the support org.",
            "Can you quote an upgrade to unlimited workflows?",
            "We want to add the analytics module for our 50 users.",
            "Can our plan go from 40 to 55 seats next month?",
        ),
        (
            "Finance approved budget for another 40 users, who do I talk to?",
            "Our sales org wants access too. Can you quote us for 60 additional licenses?",
            "we keep hitting the usage cap, is a bigger tier an option?",
            "Marketing asked to join - could we bump the contract up by 15 users?",
            "Planning to onboard the APAC office in January; what does adding another 30 seats look like?",
            "Any chance we can move to the enterprise package before renewal? We have outgrown the current one.",
            "Head of Support wants her whole team on it, roughly 20 people. How do we get them licensed?",
            "We're growing fast, can we increase our seat count to 120?",
            "How much would it cost to extend access to our Berlin office, about 35 people?",
            "The pilot went well, we want to expand it to the rest of the company.",
            "Our leadership wants everyone on it by Q2, so we'll need a lot more logins.",
            "Could we get a proposal covering the whole engineering department?",
        ),
    ),
    "cancel": Bank(
        "cancel",
        None,
        "customer",
        (
            "Please confirm how cancellation works at the end of the term.",
            "We plan to cancel our subscription at renewal.",
            "Leadership decided not to renew next year.",
            "What's the notice period if we don't want to continue after this term?",
            "We won't be renewing, can you tell us the next steps?",
            "How do we terminate the contract at the end of the year?",
            "We need to cancel the plan before it auto-renews.",
            "Our legal team asked about ending the agreement early.",
            "We are cancelling at the end of this term, please confirm.",
            "We don't plan to renew the contract.",
        ),
        (
            "Heads up: we're winding down our use of the platform when the contract ends.",
            "Procurement asked me to check the termination clause in our agreement.",
            "i think we'll let the contract lapse in march tbh",
            "Budget got cut, so this will likely be our last term with you.",
            "Can you send the steps to close our account once the term is up?",
            "We're not going to extend past the current agreement.",
            "Please make sure nothing renews automatically, we are discontinuing the service.",
            "We have decided to stop using the product after this billing year.",
            "this is probably goodbye at renewal, sorry to say",
            "Our board wants us off all non-core tools by year end, yours included.",
        ),
    ),
    "export": Bank(
        "export",
        None,
        "customer",
        (
            "How do we export all of our data?",
            "Is there a bulk export of our workflows and history?",
            "Can we get a full data dump before the end of the quarter?",
            "What format do exports come in? We need everything as CSV.",
            "We need to export every project, including archived ones.",
            "Is there a way to export the audit history for all users?",
            "Please export our user list and all ticket history.",
            "How can we export our dashboards before renewal?",
        ),
        (
            "We'll need a copy of all our records in case we move off the platform.",
            "how can i download every report we've ever created in one go?",
            "Is there an API to pull all historical runs out of the system?",
            "Could you send us an archive of everything in our workspace?",
            "What's the fastest way to get all our data out, attachments included?",
            "We want a complete backup of our account data by Friday.",
            "Is there a migration tool to move our content somewhere else?",
            "Can we extract all the data ourselves or does it need a ticket?",
        ),
    ),
    "competitor": Bank(
        "competitor",
        None,
        "customer",
        (
            "We are evaluating CompetitorCo for next year.",
            "Our CTO is running a pilot with another vendor.",
            "We're comparing you against a couple of alternatives before renewal.",
            "Someone on the board suggested we switch to Rivalytics.",
            "We've shortlisted two other tools for the renewal review.",
            "Evaluating other options at the moment, will let you know.",
            "Competitors are offering us a much lower price.",
            "We might switch to a different vendor next year.",
        ),
        (
            "We got a demo from a different provider last week and it looked slick.",
            "Procurement wants three quotes from other tools before we sign anything.",
            "Heard good things about Zenflow, might trial it next month.",
            "Our new VP used another product at her last company and prefers it.",
            "We're running a bake-off between you and two other platforms.",
            "A rival offered us a free migration and a year at half price.",
            "The team trialled a similar app and liked its reporting better.",
            "Leadership asked me to benchmark you against the market leader.",
        ),
    ),
    "pricing": Bank(
        "pricing",
        None,
        "customer",
        (
            "Can we get a discount at renewal? Budget is tight this year.",
            "The price increase is hard to justify to finance.",
            "Is there any flexibility on price if we commit for two years?",
            "Our per-seat cost seems high compared to what we use.",
            "We need the renewal price to come down to keep this.",
            "Finance is asking for a better rate before they approve the renewal.",
            "What discount can you offer on a multi-year deal?",
            "The price per seat is more than we budgeted.",
        ),
        (
            "Finance flagged the renewal quote as too expensive.",
            "We're paying for seats nobody uses, can the bill come down?",
            "Could we move to a cheaper tier next term?",
            "honestly the cost is getting hard to defend internally",
            "The new pricing doubles what we pay - that won't fly with our CFO.",
            "Any room to reduce the invoice amount for next year?",
            "We can only renew if it costs less, realistically.",
            "Is a smaller package possible? We are cutting spend.",
        ),
    ),
    "trouble": Bank(
        "trouble",
        "negative",
        "customer",
        (
            "We had another outage this morning, this is the third time this month.",
            "Support hasn't answered our ticket from last week.",
            "Reports have been slow all week.",
            "The sync job failed again overnight and nobody noticed.",
            "This bug is blocking our month-end close.",
            "Honestly frustrated, the dashboard keeps timing out.",
            "The export to our warehouse is broken since the update.",
            "Our users keep getting logged out, it's really annoying.",
            "The app crashed twice during our board demo.",
            "Nobody has replied to our escalation, this is unacceptable.",
            "The integration is down again and our team is stuck.",
            "Reports are slow and the charts are broken.",
        ),
        (
            "Everything's been painfully laggy since Tuesday's release.",
            "third time today the page just errors out, not great",
            "We lost an afternoon of work because the integration broke.",
            "Still waiting on a response about the login issue, it's been days.",
            "The app is unusable for our EU team right now.",
            "Really disappointed with how the migration went.",
            "Data in the weekly report is wrong again, people are losing trust in it.",
            "Half the team can't load the dashboards this morning.",
            "The mobile app is a mess after the last update.",
            "We're struggling - alerts fire late or not at all.",
            "Performance has degraded badly, pages take ages.",
            "Another week, another incident. The team is fed up.",
        ),
    ),
    "praise": Bank(
        "none",
        "positive",
        "customer",
        (
            "Thanks, that fixed it!",
            "The team loves the new dashboard.",
            "Great session today, thank you.",
            "Huge thanks for the quick turnaround on that fix.",
            "The new reports are fantastic, everyone is using them.",
            "Really happy with how the rollout went.",
            "This saved us so much time, thank you!",
            "Amazing support as always, much appreciated.",
            "Our managers are thrilled with the weekly summaries.",
            "Excellent work on the new editor, it's a joy to use.",
            "Love the new Slack integration, great job!",
            "Thank you, the fix works perfectly.",
        ),
        (
            "Loving the new automation features, rolled them out to finance already.",
            "you folks are awesome, the import worked first try 🎉",
            "Our ops team says this saved them hours every week.",
            "Big fan of the latest update, the search is so much better.",
            "Smooth onboarding for the new hires, appreciate it.",
            "Kudos to your support engineer, brilliant help.",
            "The team is genuinely enjoying the product, nice job.",
            "Wow, the new templates are perfect for us.",
            "Best tool we've adopted this year, honestly.",
            "Super impressed with how quickly you shipped that.",
            "Everyone here is delighted with the new search.",
            "Cheers for sorting that so fast, legends.",
        ),
    ),
    "neutral": Bank(
        "none",
        "neutral",
        "customer",
        (
            "Quick one: where do I change the report timezone?",
            "Getting started - is there a guide for the admin setup?",
            "Is there a way to rename a workspace?",
            "Does the API support webhooks for job completion?",
            "Where can I find the audit log settings?",
            "Can you remind me how SSO groups map to roles?",
            "First workflows are live.",
            "Is the changelog published somewhere?",
            "What time is the training on Thursday?",
            "Can I schedule a report for Monday mornings?",
            "Where do I update our billing address?",
            "Is there a sandbox environment for testing?",
        ),
        (
            "Which browser versions do you support these days?",
            "Is the Tuesday maintenance window still 2am UTC?",
            "How do I give a contractor read-only access?",
            "Do scheduled reports respect daylight saving?",
            "Where would I set the default language for new users?",
            "Is there a limit on attachment size in tickets?",
            "We moved the weekly sync to Wednesdays.",
            "Who on your side owns the API roadmap?",
            "Can the digest email go to a distribution list?",
            "Noting for the record that our fiscal year starts in April.",
            "Does the SAML setup need a metadata URL or a file?",
            "Our admin changed, can you update the contact on file?",
        ),
    ),
    "handover": Bank(
        "handover",
        None,
        "customer",
        (
            "Hi all, I'm taking over from {champion}, who left the company last month.",
            "{champion} has moved on, I'll be your main contact from now on.",
            "Introducing myself: I replaced {champion} as the owner of this tool.",
            "{champion} is no longer with the company; please send renewal questions to me.",
        ),
        (
            "{champion} is no longer here; please loop me in on anything renewal related.",
            "Quick note that {champion} departed in October, I'm picking up their projects.",
            "New point of contact here - {champion}'s role has been handed to me.",
            "{champion} resigned a few weeks ago, so I'm the admin now.",
        ),
    ),
    "late": Bank(
        "none",
        None,
        "customer",
        (
            "Sorry about the invoice, it got stuck in our AP system. Paid now.",
            "Apologies for the late payment, our finance team was changing banks.",
            "The invoice is paid now, sorry it took a while.",
        ),
        (
            "The wire went out this morning, sorry for the delay on that invoice.",
            "AP finally processed the payment - our bad on the hold-up.",
            "Payment should have landed today, apologies for the wait.",
        ),
    ),
    "po": Bank(
        "expansion",
        None,
        "customer",
        (
            "Finance is still sorting out the PO for the last invoice, but we want the extra seats now.",
            "The PO is delayed on our side; in the meantime please add 10 seats.",
        ),
        (
            "PO for the open invoice is in approval; meanwhile, can we add 12 more users?",
            "Our purchasing system is slow, but we need licenses for 20 more people this month.",
        ),
    ),
    "vendor": Bank(
        "none",
        None,
        "vendor",
        (
            "Following up on the export tooling question from last week.",
            "Sharing the renewal pricing options we discussed.",
            "Happy to help you add seats whenever you're ready.",
            "Reminder: the cancellation policy doc is pinned in this channel.",
            "We're comparing notes internally on the competitor feature set you asked about.",
            "Checking in ahead of your renewal - anything we can help with?",
            "Thanks for flagging, I'm on it.",
            "Let me set up a call this week.",
            "Can you share who should get the renewal quote?",
            "We've added 10 seats to your trial workspace as promised.",
        ),
        (
            "Here's the export guide I promised on our call.",
            "Our team shipped a fix for the outage you reported, let us know if you see it again.",
            "Just posting the upgrade options for 50 more licenses, no pressure.",
            "Want to set up a QBR to walk through pricing for next year?",
            "I'll send over the termination and renewal terms doc for your legal team.",
            "Welcome aboard to everyone new from your side!",
            "Details by email now.",
            "Sorry for the slow reply on the bug, engineering is looking at it.",
            "Attaching the data export you requested.",
            "Our price list for next year is out, sharing it here.",
            "Confirming your cancellation question went to our billing team.",
            "Great news: the upgrade to higher limits is live on your account.",
        ),
    ),
}

EMOJI = (" :tada:", " 🙂", " :+1:", " 🙏", " :eyes:", " 😅")
HELD_OUT_STYLE = "email"  # "Hi team,\n\n...\n\nBest regards,\nName": only ever in the held-out split


def _typo(text: str, rng: random.Random) -> str:
    """Two adjacent letters swapped in one longer word, as fast typing does."""
    words = text.split(" ")
    long = [k for k, w in enumerate(words) if len(w) >= 6 and w.isalpha() and "{" not in w]
    if not long:
        return text
    k = rng.choice(long)
    w, j = words[k], rng.randint(1, len(words[k]) - 3)
    words[k] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def styled(text: str, split: Split, rng: random.Random, signer: str) -> str:
    """One message as a person writes it: plain, or chatty (lower case, emoji), sometimes with a typo or a word
    in capitals; in the held-out split, some are pasted emails (the held-out style)."""
    roll = rng.random()
    if split == "held_out" and roll < 0.3:
        text = f"Hi team,\n\n{text}\n\nBest regards,\n{signer}"
    elif roll < 0.55:
        text = text.lower().rstrip(".") + (rng.choice(EMOJI) if rng.random() < 0.6 else "")
    if rng.random() < 0.2:
        text = _typo(text, rng)
    if rng.random() < 0.08:
        words = text.split(" ")
        k = rng.randrange(len(words))
        words[k] = words[k].upper()
        text = " ".join(words)
    return text


def table() -> list[tuple[str, str, Tone | None, str, Split]]:
    """Every phrasing as (text, intent, tone, speaker, split): the table the Slack rules are tested on."""
    halves: tuple[tuple[Split, str], ...] = (("tuning", "tuning"), ("held_out", "held_out"))
    return [
        (text, b.intent, b.tone, b.speaker, split)
        for b in BANKS.values()
        for split, half in halves
        for text in getattr(b, half)
    ] + [
        (text, BANKS[name].intent, BANKS[name].tone, BANKS[name].speaker, "tuning")
        for name, more in MORE.items()
        for text in more
    ]
