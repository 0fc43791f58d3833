"""How fast one tenant may call each vendor: the vendor's documented limit times a safety factor (pure).

The pace is per tenant and vendor because the vendors limit per account (Stripe per account and mode, Slack per
workspace and app, HubSpot per private app): every worker process shares it through db/pacing.py. Per tenant,
in the connector's config:
- Stripe `mode`: live (100 requests/s) or test (25/s); unset, the key's prefix says (sk_live_ / rk_live_);
- Slack `tier`: the conversations.history tier of the tenant's app, 2 (20/min), 3 (50/min, internal apps) or 4;
- HubSpot `tier`: starter (100 per 10 s, Free and Starter) or professional (190 per 10 s);
- any connector `requests_per_second`: an explicit pace, which wins (a vendor plan with other limits).
Salesforce limits requests per day, not per second: a modest pace keeps a scan from starving the org's other
integrations.
"""

from __future__ import annotations

from typing import Any

SAFETY = 0.9  # under the documented limit: clocks differ, and the tenant's other integrations share it
STRIPE_PER_SECOND = {"live": 100.0, "test": 25.0}
SLACK_PER_MINUTE = {2: 20.0, 3: 50.0, 4: 100.0}
HUBSPOT_PER_SECOND = {"starter": 10.0, "professional": 19.0}
SALESFORCE_PER_SECOND = 5.0
VENDORS = ("stripe", "hubspot", "salesforce", "slack")


def stripe_mode(key: str, config: dict[str, Any]) -> str:
    if config.get("mode") in STRIPE_PER_SECOND:
        return str(config["mode"])
    return "live" if key.startswith(("sk_live_", "rk_live_")) else "test"


def documented_limit(vendor: str, key: str, config: dict[str, Any]) -> float:
    """The vendor's own limit for this tenant's account, requests per second."""
    if vendor == "stripe":
        return STRIPE_PER_SECOND[stripe_mode(key, config)]
    if vendor == "slack":
        return SLACK_PER_MINUTE[int(config.get("tier") or 3)] / 60
    if vendor == "hubspot":
        return HUBSPOT_PER_SECOND[str(config.get("tier") or "starter")]
    if vendor == "salesforce":
        return SALESFORCE_PER_SECOND / SAFETY  # not a vendor limit: our own modest pace, kept as is below
    raise ValueError(f"no pace for {vendor}")


def requests_per_second(vendor: str, key: str, config: dict[str, Any], safety: float = SAFETY) -> float:
    """The tenant's pace for a vendor: its explicit `requests_per_second`, else the documented limit x safety."""
    if config.get("requests_per_second"):
        return float(config["requests_per_second"])
    return round(documented_limit(vendor, key, config) * safety, 4)
