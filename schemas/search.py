"""Custom search attributes, so an engineer can find any run in the Temporal UI by what it is about."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

TENANT = SearchAttributeKey.for_keyword("Tenant")
CUSTOMER = SearchAttributeKey.for_keyword("CustomerId")
ROUTE = SearchAttributeKey.for_keyword("Route")
VERDICT = SearchAttributeKey.for_keyword("Verdict")
RUN_DATE = SearchAttributeKey.for_keyword("RunDate")
DRAFT_STATUS = SearchAttributeKey.for_keyword("DraftStatus")

ALL = (TENANT, CUSTOMER, ROUTE, VERDICT, RUN_DATE, DRAFT_STATUS)
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


def attrs(*pairs: tuple[SearchAttributeKey[str], str]) -> TypedSearchAttributes:
    """Search attributes to set when a workflow starts: attrs((TENANT, "acme"), (RUN_DATE, "2026-11-22"))."""
    return TypedSearchAttributes([SearchAttributePair(k, v) for k, v in pairs])
