"""A fresh evaluation book for the Slack rules: a third split, `fresh`, of every phrase bank in sandbox/phrases.py
(same intents, tones and speakers), written apart from the rules and from the tuning and held-out phrasings, and
one message style of its own (`FRESH_STYLE`: a bulleted status update) that no other split uses.

Why a third book: the held-out split was written beside the tuning one, by the same hands, so rules tuned on one
half can still fit habits both share. This book was written later, without reading the rules or
running them on single messages, from how B2B customers and vendor CSMs talk in Slack Connect channels: indirect
asks, questions, numbers as words, typos (a few written in, more as noise), emoji, a little Spanish, German,
French and Portuguese, long and short.
Topped up once the tuning book grew (sandbox/phrases_tuning.py), by a second examiner who read neither the
rules nor the tuning phrasings: with the held-out split, the book outnumbers every bank's tuning phrasings
by at least two, so at least half of each bank is never used while tuning.
Rule writers must not open this file; `python -m bench.judgement --split fresh` reports on it.

`pick` and `styled` serve every split: the fresh book for `fresh`, sandbox/phrases.py for the others (so the
tuning and held-out workspaces stay byte for byte what they were). "{champion}" is the departed champion's name.
"""

from __future__ import annotations

import random
import re
from typing import Literal

from sandbox import phrases

BookSplit = Literal["tuning", "held_out", "fresh"]

FRESH: dict[str, tuple[str, ...]] = {
    "expansion": (
        "ok so the ops crew in Lisbon saw the demo and now everyone wants an account lol. what's the process for "
        "adding like thirty more people?",
        "Quick q: if we bring the warehouse team on in Feb, do we add licences ourselves or does that go through you?",
        "We've basically maxed out the seats we bought. Who can send me an order form for another twenty-five?",
        "Our CFO signed off on rolling this out company-wide 🎉 can someone walk us through the enterprise options?",
        "Is it possible to get a quote for doubling our current seat count? Board meets on the 14th and I want "
        "numbers in the deck.",
        "hey! the customer success team (about fifteen ppl) is asking for access, can we get them set up on our "
        "contract?",
        "We'd love to turn on the advanced permissions add-on, what does that do to the invoice?",
        "Wondering wether it makes sense to switch to the annual enterprise tier now that we're at ninety users. "
        "Thoughts?",
        "Necesitamos más licencias para el equipo de México, unas doce. Can you help us with that?",
        "Can u send over an expansion quote: adding our Paris and Madrid offices, roughly forty seats total",
        "Procurement wants to fold our three team accounts into one bigger plan. Who should they talk to?",
        "Hitting the workflow limit every week now. Is there a tier above ours, and how quickly could we move?",
        "The new hires start on the first of the month, eight of them. Can we have seats ready by then?",
        "Thinking about adding the data warehouse connector next quarter, could we get pricing + a timeline?",
        "We acquired a small company last month; their team of ~20 would need to be added to our account.",
        "The team lead from Finance pinged me, they want in as well. How does adding a department work contract-wise?",
        "Could we co-term an extra block of fifty seats with our current agreement?",
        "need 5 more seats asap pls 🙏 interns start tomorrow",
        "If we went from sixty to a hundred and fifty users, is there a volume price for that?",
        "Wir möchten das Tool auch für unser Vertriebsteam nutzen, could you send an offer for around 25 extra users?",
        "Before renewal I'd like to talk about moving everyone onto the premium plan, we use it way more than we "
        "expected.",
        "Our pilot group in support hit all its targets so leadership green-lit a full rollout. What's the next step "
        "on your side?",
        "hey, is the sandbox environment available as an add-on? we'd buy it for the dev team",
        "Would you be able to put together a multi-year proposal that includes the HR and legal teams too?",
        "We're opening a second site in Q1 and will need another forty-ish logins; can we lock that in now?",
        "Trying to budget for next year: if we added the compliance pack plus twenty seats, ballpark?",
        "Usage has grown way past what we licensed (sorry!). Happy to true up, just tell us how.",
        "Is there an org-wide licence option? Counting seats one by one is getting silly for us",
        "Our Nordics team wants in starting March, so we'd need roughly eighteen more accounts. Can you send terms?",
        "can we upgrade the whole org to the business plan before the renewal date? everyone's on it daily now",
        "Looking to add the API access add-on plus ten extra users for our integrations team, who do I ping?",
        "Das Team in Wien wächst, wir brauchen 12 weitere Lizenzen. Could you prepare an amendment?",
        "Two more departments asked to join after seeing our results 🙌 what would seventy additional seats cost?",
        "Are there bulk discounts if we commit to 200+ users for the next contract?",
        "Our contractors need read-only access too, is there a seat type for that we can add?",
        "Heads up: we're growing headcount by about a third next year and want everyone licensed, let's talk numbers",
        "Pouvez-vous ajouter quinze utilisateurs à notre abonnement ? The new support crew starts Monday.",
    ),
    "cancel": (
        "Heads up: we've been asked to wind down all non-core tools by year end, and this one is on the list.",
        "Can you remind me when the auto-renewal kicks in? We don't intend to continue.",
        "Our new CTO is consolidating vendors, so we won't be signing again in January.",
        "Who do I send a formal non-renewal notice to? Legal wants it in writing.",
        "We've decided to sunset our use of the platform. What does off-boarding look like?",
        "fyi we will not extend past the current term. thanks for everything though",
        "Is there a way to stop the renewal without paying for another full year?",
        "Sadly our tooling spend was slashed and your product lost out, so this term will be our last.",
        "Can you double-check the account is set to expire rather than roll over? We're ending the relationship at "
        "term.",
        "Honestly we're done. Just tell me what we need to do so we don't get billed again.",
        "What happens to our account on the last day of the contract if we don't sign anything new?",
        "Nous ne renouvellerons pas le contrat. Please confirm the end date on your side.",
        "Managment asked me to give notice. We'd like to close the account when this term finishes.",
        "Can we go down to zero seats at renewal, or is it cleaner to just terminate?",
        "Sending this so it's on record: we are opting out of the renewal.",
        "Could someone from billing tell me what the termination terms in section nine mean in practice?",
        "Ok, the decision is made on our end. We're going to part ways after this term.",
        "Do we need to give ninety days notice, or is thirty enough to not renew?",
        "we're shutting down the project this tool was bought for, so no renewal for us",
        "Our parent company mandates a different platform from Q2, so we'll be discontinuing.",
        "Please turn off auto renew for our subscription, thx",
        "Just confirming in writing that we won't be continuing once the term is up 🙁",
        "Is early termination possible? We'd pay a fee if needed, the team has already moved off.",
        "Can I get a letter confirming the account closure for our auditors?",
        "The steering committee voted not to continue with the rollout, so we'll stop at the end of the term.",
        "Not gonna renew. nothing personal, just not the right fit anymore",
        "What's the last date we can give notice without being charged for the next period?",
        "Vamos a cancelar la suscripción al final del contrato. Who should I coordinate with?",
        "We've chosen not to go ahead with another term. Please treat this as our notice.",
        "Leadership decided to retire this tool at the end of our agreement, so please don't auto-renew us.",
        "who handles contract terminations on your side? we'd like to close things out by march",
        "We're winding down the account after this billing cycle, can you confirm nothing else will be charged?",
        "Unfortunately we'll be letting the subscription lapse when it's due. Thanks for the support over the years.",
        "Wir werden den Vertrag nicht verlängern. Please let us know what you need from us.",
        "The decision came down from above: no renewal this year 😞",
        "Can you cancel our plan effective at the end of the current period? Attaching the signed notice.",
        "We'd like to end our contract when it comes up. What's the proper process for giving notice?",
        "not planning to re-up when the term ends, just letting you know early",
    ),
    "export": (
        "Is there a way to get a full dump of all our records, including attachments?",
        "We need a complete backup of our workspace in CSV or JSON before the end of the month.",
        "What's your retention period once a contract is over? We'd want to grab a complete copy of our records first.",
        "Can your team help us migrate all historical data out? Our IT group needs it in a portable format.",
        "what's the fastest way to download every project + its history? the UI download times out",
        "Our data team wants to pull all records in bulk over the API. What are the rate limits for that?",
        "Could you send a full archive of our account? Legal needs a copy.",
        "Is the bulk extract endpoint documented somewhere? We'd like to get everything out by mid-month.",
        "Before we make any decisions we want a copy of all our data. How do we request that?",
        "Hi, can someone generate a full data extract for us? ideally zipped, ideally this week",
        "Does a full export include user activity history or only the current config?",
        "We're consolidating systems and need to move ~3 years of history out of your tool.",
        "Kann man alle Daten auf einmal exportieren? Our IT would like everything as flat files.",
        "Is there a single file with every user, group and permission setting that we can pull down?",
        "The data portability clause says you'll hand over our data on request. Consider this the request.",
        "trying to pull our entire history into the warehouse, is there anything better than downloading report "
        "by report?",
        "Could we get an S3 drop of everyting we've stored with you?",
        "The export keeps failing at about forty percent and we really need the whole dataset out. Help?",
        "Please confirm the format the final data handover will be in, and when we can expect it.",
        "What's involved in getting our records out if we move to a different system?",
        "Our new vendor asked for a sample of our data in raw form, can you produce an extract?",
        "Is there a GDPR-style takeout of everything tied to our org?",
        "We'd like to start exporting the archive in batches, starting with 2023.",
        "Where's the button to export all? I only found per-item export 😕",
        "Need our historical data out of here by Friday, whatever format is quickest",
        "Can you confirm deletion timelines once we've taken a full copy of our data?",
        "Quisiéramos descargar todos nuestros datos. Is there a self-serve way or do we open a ticket?",
        "Can we get every ticket, comment and file we've ever stored with you as one download?",
        "Our auditors want a copy of all historical entries. Is there a way to extract the lot in one go?",
        "Looking for the quickest route to get our complete dataset into Snowflake, bulk API or a file drop?",
        "Pourriez-vous nous fournir une extraction complète de nos données ? CSV is fine.",
        "we want all our stuff out of the tool, what format does it come in and how long does it take?",
        "We need to take our records with us, including the audit trail. Can you package that up?",
        "Can an admin pull the entire workspace out at once, attachments and all?",
        "Need a full copy of our data exported by end of quarter, who do I open that with? 📦",
    ),
    "competitor": (
        "Heads up, we've kicked off a vendor shootout for this category, you're one of three.",
        "Another vendor offered us a migration credit if we switch. Not sure what to make of it.",
        "The VP who joined in September swears by the tool she had at her old job and wants a trial here.",
        "Just so you know, procurement asked us to get three alternative bids before renewing.",
        "Saw a demo of a competing product yesterday, their reporting looked way ahead tbh.",
        "We're piloting an alternative with the support team to see how it stacks up.",
        "Someone on our side is pushing hard for us to move to the platform our parent company uses.",
        "The other tool we're evaluating bundles this feature at no extra cost.",
        "Honest feedback: a rival product does the scheduling part better and our team has noticed.",
        "We signed a trial with another provider last week, will let you know how it goes.",
        "Leadership asked for a side-by-side with Brightflow before we decide on renewal.",
        "Our sister company switched to Nimbly and is pretty happy, so we're taking a look too.",
        "estamos comparando con otra herramienta, la decisión es en diciembre",
        "A competitor quoted us half of what we pay you. Just saying.",
        "We're shortlisting replacements, can't say more yet.",
        "FYI there's an RFP going out for this category, you should get an invite.",
        "IT wants to standardise on one platform and it might not be yours, sorry 😬",
        "Have you heard of Corvane? They reached out and our team is curios.",
        "Running a parallel evaluation of Tallyhub for the next four weeks.",
        "We've started moving a few workflows to another product to test it.",
        "the other vendor's sales rep is in our office on thursday fwiw",
        "Our analysts prefer the interface of the tool we're trialling, which worries me for renewal.",
        "Got a pretty aggressive offer from a competitor to switch at renewal time.",
        "We're doing a proof of concept with an alternative platform through January.",
        "Was asked to put together a comparison against two other options for the exec team.",
        "On a testé une autre solution le mois dernier, and honestly some people here liked it better.",
        "A couple of our teams already use Brightflow on the side, so the question of switching keeps coming up.",
        "Our board asked whether we've benchmarked you against the market, so we're trialling two other products.",
        "Talked to Quillstack last week, their pitch was pretty compelling, not gonna lie.",
        "A few of our managers are pushing to switch over to what they used at their previous company.",
        "We're in talks with another provider that covers this plus our ticketing, might consolidate.",
        "Estamos evaluando alternativas antes de renovar, just being transparent.",
        "The team is running a rival tool in parallel this month to compare features.",
        "fwiw a competitor offered us free onboarding + the first 3 months if we move over",
        "Our new head of IT prefers Orbitly and has asked for a bake-off before renewal.",
    ),
    "pricing": (
        "The renewal quote came in a lot higher than last year. Can we talk about that?",
        "Finance flagged the per-user cost as one of our biggest software line items.",
        "We're being asked to cut SaaS spend by twenty percent, so the current price is a problem.",
        "Is there a cheaper plan that keeps the core features? We don't use half of what we pay for.",
        "honestly the uplift in the renewal quote is hard to swallow",
        "Could we drop to fewer seats and a lower tier at renewal? Budget is frozen.",
        "Our CFO wants a written justification of the cost before she approves the renewal.",
        "Any chance of holding last year's rate? A seven percent increase won't fly internally.",
        "We're paying for sixty licences and using maybe forty. Can the price reflect that?",
        "Can you send a breakdown of what we're paying for? The invoice total surprised our controller.",
        "Es muy caro para nosotros este año, can we discuss options?",
        "If the price stays where it is we'll have to reconsider.",
        "We need something closer to our budget of fifteen k a year to make this work.",
        "Tbh the value isn't matching the price at the moment.",
        "Could we move to monthly billing? Paying the whole year up front is tough right now.",
        "Is the nonprofit / education discount something we might qualify for?",
        "Our procurement team will push back on any increase, just setting expectations.",
        "Why did the price per seat go up when our usage went down?",
        "Would you consider a smaller package, we can't justify the top tier anymore",
        "We're reviewing every tool over a thousand dollars a month and this one is near the top.",
        "Can we remove the add-ons we don't use from the renewal? trying to bring the number down",
        "Price is the sticking point for renewal, everything else is fine.",
        "Le prix a beaucoup augmenté, is there room to negotiate?",
        "Our budget owner asked if theres any wiggle room on the anual fee.",
        "The cost per active user works out to something crazy for us, can we look at it together?",
        "Spend review is next week. I need a better number from you or it gets flagged.",
        "could you price out a stripped down version? just the core module",
        "The per-seat rate is more than we budgeted, can we find a lower number for next year?",
        "We can't get the renewal approved at this price. What flexibility do you have?",
        "Ist ein Rabatt möglich? Our budget for tools got cut this year.",
        "cost is getting hard to defend internally tbh, any cheaper options on the table?",
    ),
    "trouble": (
        "Third time this week the dashboard has been down during our morning standup. Not great.",
        "Our support ticket has been open for nine days without a real answer.",
        "Sync has been broken since Tuesday's release and my team is doing things by hand again.",
        "The app is unusably slow for us today, pages take 30+ seconds to load.",
        "jobs silently failed overnight and nobody got alerted, so the whole morning went on redoing them 😤",
        "Starting to lose patience here, every update seems to break something on our side.",
        "Is anyone looking at the login issue? half the team can't get in.",
        "Reports are showing numbers that don't match our source data. We can't trust them right now.",
        "The API keeps returning 500s on the batch endpoint, it's blocking our integration.",
        "We escalated this twice and still no root cause. Really disappointing.",
        "Notifications stopped going out over the weekend, people missed deadlines because of it.",
        "Das ist schon wieder kaputt... the scheduler skipped every run last night.",
        "Your status page says everything is green but nothing is loading for us.",
        "My users are complaining nonstop about the new editor, it's much harder to use.",
        "Data from yesterday is just gone from the timeline. What happened?",
        "down AGAIN?? that's four times since the 1st",
        "We had to postpone a client deliverable because of the downtime. Not ok.",
        "Attachments make the phone app crash on open, every single time, on iOS and Android alike.",
        "Still waiting on the fix you promised last sprint, morale around this tool is low.",
        "Permissions got reset after the upgrade and people can see things they shouldn't. Urgent.",
        "Every CSV comes out with garbled characters since the update.",
        "Search is totaly broken, it returns nothing for terms we know exsit.",
        "Performance has been getting worse for weeks and nobody seems to own it on your side.",
        "the integration with our CRM is duplicating records again, cleanup is eating hours",
        "Getting timeouts constantly since this morning, can someone please look",
        "Não está funcionando de novo, the webhooks are failing for our Brazil team.",
        "Frankly the reliability over the past month has been poor and people here have noticed.",
        "Support closed our ticket as resolved but the bug is still there.",
        "Reminders fired twice for every customer this morning, which was embarrassing for us. What broke?",
        "Seit dem Update stürzt die App ständig ab, and our agents are losing their work.",
        "we've lost a full day to the outage, can someone give us an ETA that actually holds?",
    ),
    "praise": (
        "The new bulk edit feature saved my team hours this week, thank you!",
        "Just wanted to say your support folks were fantastic during our migration.",
        "Ran our quarter-end close on it for the first time and it went super smoothly 🙌",
        "The automation templates are a hit here, people keep passing them around.",
        "Big thanks for the quick fix yesterday, really appreciated.",
        "Our managers love the new dashboards, they're in them every morning.",
        "honestly this has become one of the tools people here actually enjoy using",
        "Shoutout to whoever ran the training session, the team came away really confident.",
        "Since we moved our intake onto your forms, turnaround time dropped by a third. 👏",
        "The latest release is great, the speed difference is noticeable.",
        "Muito obrigado pela ajuda! everything's working perfectly now.",
        "Our execs mentioned the reporting in the all-hands today, nice work.",
        "Everything's been rock solid for months, no complaints at all.",
        "The Slack integration is exactly what we needed, adoption went way up.",
        "Just finished the audit and your activity logs made it painless. Thanks!",
        "Love the new keyboard shortcuts ⌨️ small thing but it makes a big difference",
        "We hit our SLA target for the first time this year, partly thanks to your alerts.",
        "Realy impressed by how fast your team turned around that feature reqeust.",
        "Team feedback on the new UI has been overwhelmingly positive.",
        "Vielen Dank, das neue Feature ist super! The team is thrilled.",
        "that walkthrough was 🔥, lots of aha moments on our side",
        "It just works, which is the highest compliment I can give software 😄",
        "Onboarding our new starters took half the time it used to. Very happy.",
        "Kudos on the uptime lately, haven't had a single hiccup.",
        "Our ops lead called it the best tool purchase we made this year.",
        "thx for the help w/ the API limits, all good now :)",
        "The new approval flow is exactly what our compliance folks asked for, perfect.",
        "Just a note of appreciation, the product keeps getting better.",
        "The switch went better than I hoped, people learned it within a week and nobody has looked back 😊",
        "Your new reporting view is brilliant, it replaced three spreadsheets for us.",
        "Thanks a ton for jumping on that call so quickly, problem solved and everyone's relieved.",
        "Genial el nuevo panel, al equipo le encanta! Great work.",
        "Every person I've shown the automations to has been impressed, great job folks",
        "Been using it daily for a year now and it's still a joy, keep it up 👍",
    ),
    "neutral": (
        "Where do I find the setting for default notification emails?",
        "Is there a keyboard shortcut to duplicate a workflow?",
        "Can someone remind me how to add a custom field to the intake form?",
        "We're moving our standup to Wednesdays, does the same time still work for the sync?",
        "What timezone does the scheduler use for recurring jobs?",
        "Where are the release notes for the November update posted?",
        "Can I make a colleague the owner of a board I built, so edits go through her?",
        "quick one: does the API paginate with cursors or offsets?",
        "Our IT team is rotating the SSO certificate on Thursday, anything we need to do on your end?",
        "Is the office hours session still happening this week?",
        "Can a user belong to two teams at the same time?",
        "Do you have a sandbox URL we can point our staging environment at?",
        "Out of office next week, my colleague will cover any questions.",
        "How many rows can one CSV import hold before it chokes?",
        "What's the recommended way to tidy up old projects we're done with?",
        "Wie ändere ich die Sprache der Oberfläche? Asking for a colleague in Munich.",
        "Do webhooks retry if our endpoint is down?",
        "Can we rename this channel to include the project name?",
        "noted, thanks. will circle back after our planning meeting",
        "Which permissions does a workspace owner have that an admin lacks?",
        "Is the mobile app available on Android tablets?",
        "Could you share the link to the API docs again? can't find it in my bookmarks",
        "We have a fire drill on Friday afternoon so responses might be slow.",
        "How far back does the activity log go?",
        "Does changing a users email reset thier password?",
        "Is there a way to pin a filter so it's the default view?",
        "ok got it, makes sense 👍",
        "Where can I see which integrations are connected to our workspace?",
        "Do archived projects still count toward any storage quota?",
        "Which IP ranges should we allowlist for your webhooks?",
        "Can someone confirm whether the API tokens expire automatically?",
        "Heads up we're changing our SSO provider next month, will share details when we have them.",
        "Où trouve-t-on les paramètres de fuseau horaire ? Merci d'avance.",
        "received, will pass it along to the team",
    ),
    "handover": (
        "Hey everyone 👋 I've inherited this account now that {champion} has left us.",
        "{champion} wrapped up their last day on Friday, so I'm the owner for anything related to your platform now.",
        "Quick intro: I'm stepping into {champion}'s role after their departure.",
        "Hi, as of this month {champion} isn't with us anymore. Direct things my way going forward.",
        "As {champion} has left, I'll be handling the renewal conversation from our side.",
        "Hello! New admin here. {champion} moved to another company and handed this over to me.",
        "{champion}'s email will bounce now, they've left. I'm your contact.",
        "Taking over the relationship from {champion}, who's no longer with us. Would love a quick intro call.",
        "hi all, {champion} left a couple of weeks back and I'm picking this up. bear with me while I get up to speed",
        "Just joined this channel: I'm replacing {champion}, who left in the recent reorg.",
        "{champion} ya no trabaja con nosotros, so any questions come to me now.",
        "Hi, I'm the new Head of Ops. {champion} departed last month, so please loop me in on everything.",
        "Heads up: {champion} has left the business. I'll own this tool internally from here.",
        "With {champion} gone I'm the one who has to figure out our setup 😅 can someone walk me through it?",
        "For your CRM: {champion} is no longer on staff here, so reach me for anything going forward.",
        "Hello 👋 I'm covering {champion}'s responsibilities since they left at the end of September.",
        "{champion} has moved on to a new role outside the company, I'm the new admin for our workspace.",
        "Hey, new face here, I took over form {champion} after they left.",
        "{champion} a quitté l'entreprise, c'est moi qui reprends le dossier. Nice to meet you all!",
        "Since {champion}'s departure I've been asked to own the vendor relationship. Where do things stand?",
        "{champion} is gone as of last week. I'm the interim owner until we hire a replacement.",
        "hey, can you make me an admin? {champion} left and nobody else has access",
        "Hola 👋 I'm {champion}'s successor on the ops team, looking forward to working with you.",
        "{champion} handed in their notice and has gone; the contract sits with me now.",
        "After {champion} left the company the project landed on my desk, happy to connect.",
        "Hi! I'm new here, replacing {champion}. Could you send me the onboarding materials?",
        "{champion} did a proper handoff before leaving, so ping me for anything.",
        "Hi there, {champion} has stepped away from the company and I've been asked to pick up where they left off.",
        "{champion} est parti chez un autre employeur, donc c'est moi votre contact maintenant. Hi all!",
        "Since {champion} resigned, the account has moved to me. Can we set up a call to get me up to speed?",
    ),
    "late": (
        "Sorry for the delay on the last invoice, it's been paid as of this morning.",
        "Our accounts payable person was out sick, hence the late payment. All sorted now.",
        "Apologies, the invoice went to an old email address. Just paid it.",
        "Payment is done, sorry about the delay: end of quarter chaos over here.",
        "Finance says the bill is settled, sorry it ran past the date.",
        "oops, overlooked that bill's deadline 🤦 it's settled now",
        "The transfer went through yesterday, thanks for your patience on the invoice.",
        "Sorry! A finance system migration delayed a few vendor payments, yours included. Paid.",
        "Just confirming the overdue invoice was paid today, apologies for the hassle.",
        "Invoice cleared on our side, sorry for the slow turnaround.",
        "Perdón por el retraso con la factura, ya está pagada.",
        "Our controller signed off this morning so payment is on its way, sorry for the wait.",
        "The invoice needed an extra approval this time, which is why it was late. Paid now 🙏",
        "apologies, the payment got held up by a bank holiday. should show up today",
        "Sorry, the PO number was missing so AP held it back. Fixed and paid.",
        "We had a mixup with the billing contact, but the invoice is paid now.",
        "Late payment was on us, sorry. Should be reflected on your end by now.",
        "Entschuldigung für die Verspätung, die Rechnung ist jetzt bezahlt.",
        "Paid, finally! Sorry the invoice sat in someone's inbox for a week.",
        "Money was wired this afternoon. Apologies that it landed after the deadline.",
        "Our finance team confirmed the remittance this morning, apologies for the lateness.",
        "Sorry the invoice was late, holiday season. It's done now.",
        "Got the reminder, sory about that. Payment has been sent.",
        "Please ignore the overdue notice on your side, it's been paid now 👍",
        "The invoice got flagged by our fraud check because of your new bank details; cleared now and paid.",
        "sorry for the late one, the approver was travelling. sent now",
        "It's paid! Apologies to your billing team for having to chase us.",
    ),
    "po": (
        "Procurement is dragging its feet on the outstanding invoice, sorry. Separately we want to bring on fifteen "
        "more people, can we?",
        "I know there's an unpaid invoice, finance is on it. Meanwhile the sales team needs access, about twenty "
        "seats.",
        "Payment is held up waiting on a new vendor number on our side; no reason to hold up the extra licences "
        "though?",
        "Our finance system migration delayed the invoice, but we'd like to expand to the support team anyway.",
        "The renewal paperwork is with legal, and in parallel we want to grow to a hundred seats.",
        "AP needs a W-9 before paying the open invoice. Can we still get the additional seats this week?",
        "Sorry the invoice is overdue, the approval chain is long here. Could we also add the analytics add-on for "
        "the whole team?",
        "Budget for the upgrade is approved, the purchase order just hasn't been issued yet. Can you start the "
        "seats now?",
        "PO is in the queue (our procurement tool is slow 🙄), but we need ten more logins for the new hires.",
        "The invoice will be paid once our fiscal year opens; meanwhile could you provision the extra team of twelve?",
        "Can we expand now and settle the outstanding invoice together with the new order?",
        "Finance asked for a revised invoice with the new entity name, and we want thirty more licences on top.",
        "Still chasing our AP team on the open invoice. In other news, marketing wants in, around eight people.",
        "La orden de compra sigue en aprobación, pero necesitamos veinte usuarios más este mes.",
        "We're waiting on a new PO number for the balance, and we'd like to move up a tier at the same time.",
        "Apologies for the late payment, procurement is restructuring. We'll need extra seats for the new "
        "warehouse though.",
        "Can you hold the dunning emails? The PO is coming, and we want to double our seat count next month.",
        "The payment is queued for next week's run. Also, can we get a quote to add the Dublin team?",
        "Our controller is out so the invoice is waiting; in the meantime I'd like to add twenty five users.",
        "The invoice should clear after month-end close. Could we bump our plan to the higher usage tier right away?",
        "We need to add the new regional team asap, the paperwork for the overdue bill will follow.",
        "Purchasing wants one combined PO covering the open balance and forty extra seats, can you quote that?",
        "There's a hold on vendor payments until the audit is done, but we'd like to raise the license count "
        "meanwhile.",
        "Our AP is behind, sorry. Any way to add another 15 seats without wating for that?",
        "The PO for the upgrade is approved internally, it just needs to be cut. Go ahead and add the seats if you "
        "can.",
    ),
    "vendor": (
        "Hi team! Dropping the renewal proposal here, with the seat options we talked about.",
        "Reminder that your contract auto-renews on the date in the order form; happy to walk through the terms.",
        "We've resolved the incident from this morning, a full postmortem will follow.",
        "As requested, here's how to export all your records via the API: see the bulk endpoint docs.",
        "If you're considering other tools, I'd love a chance to show you our roadmap first.",
        "Just checking in, how's the rollout going with the new team?",
        "Sharing a quick comparison sheet against the other vendors you mentioned.",
        "Our pricing for next year is changing slightly; I'll share details before your renewal.",
        "Let me know if you'd like us to add those twenty seats now or at renewal.",
        "Apologies for the downtime yesterday, credits have been applied to your account.",
        "Did the CSV export end up working for your data team?",
        "Could you confirm who signs the renewal on your side this year?",
        "Our billing team says the latest invoice is still open, could you check with AP?",
        "Scheduled maintenance this Saturday 02:00-04:00 UTC, no action needed.",
        "Happy Friday! New release notes are out, the bulk edit feature landed 🎉",
        "We can offer a multi-year discount if that helps the budget conversation.",
        "I've asked engineering to prioritise the sync bug you raised.",
        "Want me to set up a session for the new admins on your side?",
        "Here's the cancellation and data retention policy you asked about, for legal review.",
        "Hola! I'll be your new CSM from next month, looking forward to working together.",
        "Just a heads-up: seats over your licensed count get trued up at renewal.",
        "Thanks all for joining the QBR today, slides are in the thread.",
        "Noticed logins dipped the last few weeks, is there anything getting in the way?",
        "Migration help is included if you ever need to move data out, just ask.",
        "The move to the enterprise plan is active now, enjoy!",
        "Can I grab fifteen minutes to talk about you're goals for next year?",
        "Ticket escalated to tier two, will update here as soon as I hear back.",
    ),
}

FRESH_STYLE = "bullets"  # a bulleted status update: only ever in the fresh split
HEADERS = ("*Update from our side*", "Status :memo:", "quick recap from this week:", "*Weekly notes*", "Few things:")
FILLER = (
    "no other open items from us",
    "next sync at the usual time",
    "notes from the last call are in the shared doc",
    "will share more after our internal review",
)
BULLETS = ("• ", "- ", "* ")
EMOJI = (" :pray:", " 👀", " :point_up:", " 🙏", " :thread:", " :memo:")  # no strong tone of their own
SHORTHAND = (("you", "u"), ("please", "pls"), ("thanks", "thx"), ("don't", "dont"), ("we're", "were"))
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\w)|;\s+")  # a sentence or clause per bullet; emoji stay put


def pick(bank: str, split: BookSplit, rng: random.Random) -> str:
    """A phrasing of `bank` for a customer of `split`: the fresh book's, or sandbox/phrases.py's."""
    return rng.choice(FRESH[bank]) if split == "fresh" else phrases.BANKS[bank].pick(split, rng)


def styled(text: str, split: BookSplit, rng: random.Random, signer: str) -> str:
    """One message as a person writes it, for a customer of `split` (sandbox/phrases.py styles the others)."""
    return _fresh_styled(text, rng) if split == "fresh" else phrases.styled(text, split, rng, signer)


def _fresh_styled(text: str, rng: random.Random) -> str:
    """The fresh split's own noise: a bulleted status update now and then, chat shorthand, a dropped or doubled
    letter, the odd @here; never the other splits' pasted email."""
    roll = rng.random()
    if roll < 0.25:
        text = _bulleted(text, rng)
    elif roll < 0.5:
        text = text.lower().rstrip(".") + (rng.choice(EMOJI) if rng.random() < 0.5 else "")
    if rng.random() < 0.25:
        text = _slip(text, rng)
    if rng.random() < 0.2:
        long, short = rng.choice(SHORTHAND)
        text = re.sub(rf"\b{re.escape(long)}\b", short, text, count=1, flags=re.IGNORECASE)
    if rng.random() < 0.05:
        text = "<!here> " + text
    return text


def _bulleted(text: str, rng: random.Random) -> str:
    """The message as a status update: a header, then each sentence as a bullet (one neutral line added to a
    one-sentence message, as such updates rarely have a single item)."""
    items = [s.rstrip(".") for s in _SENTENCE.split(text) if s.strip()]
    if len(items) == 1:
        items.insert(rng.randint(0, 1), rng.choice(FILLER))
    mark = rng.choice(BULLETS)
    return rng.choice(HEADERS) + "\n" + "\n".join(mark + item for item in items)


def _slip(text: str, rng: random.Random) -> str:
    """One letter dropped or doubled in a longer word, as thumbs on a phone do."""
    words = text.split(" ")
    long = [k for k, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long:
        return text
    k = rng.choice(long)
    w, j = words[k], rng.randint(1, len(words[k]) - 2)
    words[k] = w[:j] + w[j + 1 :] if rng.random() < 0.5 else w[:j] + w[j] + w[j:]
    return " ".join(words)
