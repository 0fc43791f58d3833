"""Salesforce: each account's renewal opportunity and champion contacts, read with SOQL through simple-salesforce.

Two queries per chunk of customers (more only when an IN list passes 200 ids or the result passes one batch,
which `query_all_iter` follows through `nextRecordsUrl`):

    SELECT Id, AccountId, Name, Type, StageName, IsClosed, CloseDate, LastModifiedDate, Amount
      FROM Opportunity WHERE AccountId IN (...)
    SELECT Id, AccountId, FirstName, LastName, LastActivityDate, EmailBouncedDate, EmailBouncedReason,
           Champion__c, Left_Company__c
      FROM Contact WHERE AccountId IN (...)

Values are escaped with `format_soql`. The rules are the HubSpot connector's (`crm_deal_signals`,
`crm_contact_signals`): a lost or stale renewal opportunity, an open expansion, a champion who left or has gone
quiet. `Champion__c` and `Left_Company__c` are custom fields the tenant maps; with no contact marked as champion,
every contact of the account is read as one. The standard `EmailBouncedDate` / `EmailBouncedReason` also say a
champion is gone when the reason is a mailbox that no longer exists (`bounce_says_gone`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.format import format_soql
from temporalio.exceptions import ApplicationError

from connectors.errors import classify_http, parse_retry_after
from connectors.hubspot import (
    MalformedRecord,
    Result,
    bounce_says_gone,
    crm_contact_signals,
    crm_deal_signals,
    crm_expansion_signal,
    freshest_contact,
    parse_when,
)
from connectors.streams import side_by_side
from core.renewal import upcoming
from schemas.evidence import CustomerProfile, EvidenceItem

LINK = "salesforce_account_id"
IN_LIST = 200  # ids per IN (...): keeps each query well inside SOQL's 100,000-character limit
OPPORTUNITY_SOQL = (
    "SELECT Id, AccountId, Name, Type, StageName, IsClosed, CloseDate, LastModifiedDate, Amount "
    "FROM Opportunity WHERE AccountId IN {}"
)
RENEWAL_SOQL = "SELECT Id, AccountId, Name, Type, CloseDate FROM Opportunity WHERE AccountId IN {}"
# Which contact is the champion, and whether one has left, are custom checkbox fields in most orgs; their API
# names are the connector's `champion_field` / `left_field` settings (null where the org has no such field: then
# every contact is read as a plain contact and nobody as departed).
CHAMPION_FIELD, LEFT_FIELD = "Champion__c", "Left_Company__c"


def contact_fields(champion_field: str | None, left_field: str | None) -> str:
    return ", ".join(
        ["Id", "AccountId", "FirstName", "LastName", "LastActivityDate", "EmailBouncedDate", "EmailBouncedReason"]
        + [f for f in (champion_field, left_field) if f]
    )


def account_key(account_id: str) -> str:
    """Salesforce ids come in 15 (case-sensitive) and 18 (with a checksum) characters; the first 15 are the id.
    Stripe metadata may hold either; the API answers with 18."""
    return account_id[:15]


LOST_STAGES = {"Closed Lost"}
COMMITTED_STAGES = {"Contract Sent"}


def _need(rec: dict[str, Any], kind: str, *fields: str) -> None:
    rid = rec.get("Id") if isinstance(rec, dict) else None
    if not rid:
        raise MalformedRecord(f"a Salesforce {kind} without an Id")
    missing = [f for f in fields if rec.get(f) in (None, "")]
    if missing:
        raise MalformedRecord(f"Salesforce {kind} {rid} is missing {', '.join(missing)}")


def _is_expansion(opp: dict[str, Any]) -> bool:
    return str(opp.get("Type") or "").lower() == "expansion" or "expansion" in str(opp.get("Name") or "").lower()


def pick_renewal_opportunity(opps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The opportunity the renewal rides on: not an expansion, Type Renewal first, then the latest close date."""
    return max(
        (o for o in opps if not _is_expansion(o)),
        key=lambda r: (str(r.get("Type") or "") == "Renewal", str(r.get("CloseDate") or "")),
        default=None,
    )


def renewal_close_date(opps: list[dict[str, Any]], run_date: dt.date) -> dt.date | None:
    """The renewal opportunity's close date, while it is still ahead (core/renewal.upcoming)."""
    try:
        return upcoming(parse_when((pick_renewal_opportunity(opps) or {}).get("CloseDate")), run_date)
    except MalformedRecord:
        return None


def opportunity_signals(
    opps: list[dict[str, Any]], run_date: dt.date, at_risk_stages: frozenset[str] = frozenset()
) -> list[EvidenceItem]:
    for opp in opps:
        _need(opp, "Opportunity", "StageName", "LastModifiedDate")
    items: list[EvidenceItem] = []
    if (o := pick_renewal_opportunity(opps)) is not None:
        stage = o["StageName"]
        closed = bool(o.get("IsClosed")) if o.get("IsClosed") is not None else stage.startswith("Closed")
        items += crm_deal_signals(
            f"salesforce:opportunity:{o['Id']}",
            name=o.get("Name") or o["Id"],
            stage=stage,
            lost=stage in LOST_STAGES,
            at_risk=stage in at_risk_stages,
            committed=stage in COMMITTED_STAGES,
            closed=closed,
            last_modified=parse_when(o["LastModifiedDate"]),
            run_date=run_date,
            close_date=parse_when(o.get("CloseDate")),
        )
    for o in opps:
        if _is_expansion(o) and not (o.get("IsClosed") or o["StageName"].startswith("Closed")):
            amount = float(o["Amount"]) if o.get("Amount") is not None else None
            items.append(
                crm_expansion_signal(
                    f"salesforce:opportunity:{o['Id']}",
                    name=o.get("Name") or o["Id"],
                    amount=amount,
                    observed_on=parse_when(o["LastModifiedDate"]),
                )
            )
    return items


def _gone(c: dict[str, Any]) -> bool:
    return bool(c.get("EmailBouncedDate")) and bounce_says_gone(reason=c.get("EmailBouncedReason"))


def contact_signals(
    contacts: list[dict[str, Any]],
    run_date: dt.date,
    champion_field: str | None = CHAMPION_FIELD,
    left_field: str | None = LEFT_FIELD,
) -> list[EvidenceItem]:
    for c in contacts:
        _need(c, "Contact")
    champions = [c for c in contacts if champion_field and c.get(champion_field) is True]
    items: list[EvidenceItem] = []
    # with no champion marked, the contact in touch most recently speaks for the account (hubspot.freshest_contact)
    left = {c["Id"] for c in contacts if _gone(c) or (left_field is not None and c.get(left_field) is True)}
    dated = [(c["Id"], parse_when(c.get("LastActivityDate"))) for c in contacts if c["Id"] not in left]
    speaks = None if champions else freshest_contact(dated)
    for c in champions or contacts:
        name = " ".join(x for x in (c.get("FirstName"), c.get("LastName")) if x) or c["Id"]
        gone = _gone(c)
        items += crm_contact_signals(
            f"salesforce:contact:{c['Id']}",
            name=name,
            left=left_field is not None and c.get(left_field) is True,
            last_contact=parse_when(c.get("LastActivityDate")) if champions or c["Id"] in (speaks, *left) else None,
            run_date=run_date,
            role="champion" if champions else "contact",
            bounced=str(c.get("EmailBouncedReason")) if gone else None,
            bounced_on=parse_when(c.get("EmailBouncedDate")) if gone else None,
        )
    return items


class SalesforceSource:
    """simple-salesforce over a session id. The requests session (the caller's, e.g. one trusting a private CA)
    gets a response hook so a 429's Retry-After reaches the Temporal retry; simple-salesforce itself never
    retries."""

    def __init__(
        self,
        instance_url: str,
        session_id: str,
        *,
        session: requests.Session | None = None,
        version: str = "59.0",
        batch_size: int | None = None,
        timeout: float = 30.0,
        pace: Callable[[], None] | None = None,
    ) -> None:
        self.session = session or requests.Session()
        self._retry_after: str | None = None
        self.session.hooks.setdefault("response", []).append(self._remember)
        if batch_size:
            self.session.headers["Sforce-Query-Options"] = f"batchSize={batch_size}"
        self.sf = Salesforce(instance_url=instance_url, session_id=session_id, session=self.session, version=version)
        self.timeout, self.pace = timeout, pace

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._retry_after = response.headers.get("Retry-After")

    def _error(self, e: Exception) -> ApplicationError:
        if isinstance(e, SalesforceError):
            content = e.content
            first: dict[str, Any] = (
                content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else {}
            )
            msg = first.get("message") or str(content)
            # Salesforce reports an exhausted API allowance as 403 REQUEST_LIMIT_EXCEEDED: retry later, not a bad key.
            status = 429 if first.get("errorCode") == "REQUEST_LIMIT_EXCEEDED" else e.status
            return classify_http("salesforce", status, str(msg)[:300], parse_retry_after(self._retry_after))
        return classify_http("salesforce", None, str(e)[:300])

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        if self.pace:  # once per query; its nextRecordsUrl pages follow unpaced (Salesforce caps per day)
            self.pace()
        try:
            yield from self.sf.query_all_iter(soql, timeout=self.timeout)
        except (SalesforceError, requests.RequestException) as e:
            raise self._error(e) from e

    def by_account(self, template: str, account_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Records by account_key of their AccountId."""
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for i in range(0, len(account_ids), IN_LIST):
            for rec in self.query(format_soql(template, account_ids[i : i + IN_LIST])):
                out[account_key(str(rec.get("AccountId")))].append(dict(rec))
        return out

    def check(self, contact_fields: str = "Id") -> None:
        """The key works, and the contact fields the connector reads exist in this org."""
        try:
            for _ in self.query(f"SELECT {contact_fields} FROM Contact LIMIT 1"):
                break
        except ApplicationError as e:
            if "No such column" in e.message:
                raise ApplicationError(
                    f"connector salesforce: {e.message} Set champion_field / left_field in the "
                    "connector's config to your org's field API names, or to null.",
                    type="ConnectorMisconfigured",
                    non_retryable=True,
                ) from e
            raise


class SalesforceConnector:
    """`await SalesforceConnector(source).gather(customers, run_date)` -> {customer_id: (evidence, error or None)}.
    `at_risk_stages`: the tenant's opportunity stages that mean a renewal in trouble (none by default: the
    standard stages say nothing about risk)."""

    def __init__(
        self,
        source: SalesforceSource,
        at_risk_stages: frozenset[str] = frozenset(),
        champion_field: str | None = CHAMPION_FIELD,
        left_field: str | None = LEFT_FIELD,
    ) -> None:
        self.source, self.at_risk_stages = source, at_risk_stages
        self.fields = (champion_field, left_field)

    async def gather(self, customers: list[CustomerProfile], run_date: dt.date) -> Result:
        return await asyncio.to_thread(self.gather_sync, customers, run_date)

    async def renewal_dates(
        self, links: dict[str, dict[str, str]], run_date: dt.date, parts: int = 1
    ) -> dict[str, dt.date | None]:
        """customer id → its renewal opportunity's close date, for every customer linked to an account: one
        opportunity query per 200 accounts."""
        return await side_by_side(lambda part: self.renewal_dates_sync(part, run_date), links, LINK, parts)

    def renewal_dates_sync(self, links: dict[str, dict[str, str]], run_date: dt.date) -> dict[str, dt.date | None]:
        linked = {cid: str(ls[LINK]) for cid, ls in links.items() if ls.get(LINK)}
        if not linked:
            return {}
        opps = self.source.by_account(RENEWAL_SOQL, sorted(set(linked.values())))
        return {cid: renewal_close_date(opps.get(account_key(a), []), run_date) for cid, a in linked.items()}

    def gather_sync(self, customers: list[CustomerProfile], run_date: dt.date) -> Result:
        out: Result = {}
        linked = {c.customer_id: str(c.links[LINK]) for c in customers if c.links.get(LINK)}
        for c in customers:
            if c.customer_id not in linked:
                out[c.customer_id] = ([], f"no Salesforce account linked (Stripe metadata {LINK} is empty)")
        accounts = sorted(set(linked.values()))
        if not accounts:
            return out
        opps = self.source.by_account(OPPORTUNITY_SOQL, accounts)
        contacts = self.source.by_account(
            f"SELECT {contact_fields(*self.fields)} FROM Contact WHERE AccountId IN {{}}", accounts
        )
        for customer_id, account in linked.items():
            key = account_key(account)
            try:
                if not opps.get(key) and not contacts.get(key):
                    raise MalformedRecord(
                        f"Salesforce account {account} has no opportunities or contacts "
                        "(it may be deleted or not exist)"
                    )
                out[customer_id] = (
                    opportunity_signals(opps.get(key, []), run_date, self.at_risk_stages)
                    + contact_signals(contacts.get(key, []), run_date, *self.fields),
                    None,
                )
            except (MalformedRecord, KeyError, TypeError, ValueError) as e:
                out[customer_id] = ([], f"salesforce: {e}")
        return out
