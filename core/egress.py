"""Where a tenant admin may make this service connect: a connector's api_base, the on-call webhook, the usage
DSN's host. Outside development, only vendors' domains and the hosts in RENEWALS_CONNECTOR_HOSTS (a proxy's), so
an admin cannot make the API or the worker probe the internal network. Pure functions; the callers hold the list
(`Settings.api_base_hosts()`, None in development: anything goes, the sandbox included)."""

from __future__ import annotations

from urllib.parse import urlsplit

from urllib3.util import parse_url


def host_allowed(host: str, hosts: list[str]) -> bool:
    """`host` is one of `hosts` or a subdomain of one."""
    host = host.lower().rstrip(".")
    return bool(host) and any(host == h or host.endswith("." + h) for h in hosts)


def url_allowed(url: str, hosts: list[str]) -> bool:
    """https on one of `hosts` (or a subdomain), as both Python and urllib3 (what the SDKs use) read the URL; no
    user info or backslashes, on which parsers disagree about the host."""
    if "\\" in url or "@" in url:
        return False
    parts, seen_by_sdk = urlsplit(url), parse_url(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and host == (seen_by_sdk.host or "").lower() and host_allowed(host, hosts)
