"""Which PostgreSQL a tenant's usage DSN may reach. Never the product's own server: a tenant admin pointed the DSN
at it with a query casting another tenant's draft subjects to int, and read them in the error text (issue 13).
Outside development, only hosts on the same allow-list as a connector's api_base (core.egress).

Two checks. `check_dsn` reads the DSN as asyncpg will (its own parser, so the two cannot disagree about the
host), resolves it, and compares with the product's DSN: at connect time (PUT /v1/connectors/usage, in the
worker's CheckConnectorWorkflow) and again before every query. `server_identity` then tells servers apart by what
they say about themselves, which no alias, DNS change or TCP proxy can hide: the worker compares it with its own
pool's before running the query."""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg
from asyncpg import connect_utils

from core.egress import host_allowed

# DSN parameters a tenant may set. Anything else (options, server settings such as default_transaction_read_only
# or app.tenant_id, which asyncpg would send at start-up) is the connector's to decide, not the tenant's.
PARAMS = {
    "host",
    "port",
    "dbname",
    "database",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "connect_timeout",
    "target_session_attrs",
}
IDENTITY = "select pg_postmaster_start_time()::text || ' port ' || current_setting('port')"


class DsnRefused(ValueError):
    """Why the DSN may not be used; safe to show (it names nothing the tenant did not write)."""


Address = tuple[str, int] | str  # (host, port), or a unix socket's path


def addresses(dsn: str) -> list[Address]:
    """Where asyncpg would connect for this DSN (unset host and port follow libpq's defaults, PGHOST included)."""
    try:
        addrs, _ = connect_utils._parse_connect_dsn_and_args(
            dsn=dsn,
            host=None,
            port=None,
            user=None,
            password=None,
            passfile=None,
            database=None,
            ssl=None,
            service=None,
            servicefile=None,
            direct_tls=None,
            server_settings=None,
            target_session_attrs=None,
            krbsrvname=None,
            gsslib=None,
        )
    except Exception as e:  # noqa: BLE001 - any parse failure: the DSN is unusable, and why is ours to word
        raise DsnRefused("the DSN could not be read as postgresql://user:password@host:port/database") from e
    return list(addrs)


def _port(addr: Address) -> int:
    return addr[1] if isinstance(addr, tuple) else int(addr.rsplit(".", 1)[-1])


def _ips(host: str, port: int) -> set[str]:
    try:
        return {str(a[4][0]) for a in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except OSError:
        return set()  # unresolvable now: nothing to compare; the identity check runs before any query


def _is_this_machine(ip: str) -> bool:
    """Loopback, or an address of one of this machine's interfaces (binding to it succeeds)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((ip, 0))
        return True
    except OSError:
        return False


def check_dsn(dsn: str, own_dsn: str | None, hosts: list[str] | None) -> None:
    """Raise DsnRefused when `dsn` may reach the product's own server (same socket directory; or the same port on
    an address that is the own server's or this machine's), or, with an allow-list (`hosts`, None in
    development), a host not on it or a unix socket."""
    extra = sorted({k for k, _ in parse_qsl(urlsplit(dsn).query)} - PARAMS)
    if extra:
        raise DsnRefused(f"the DSN may not set {', '.join(extra)}: only {', '.join(sorted(PARAMS))}")
    theirs = addresses(dsn)
    own = addresses(own_dsn) if own_dsn else []
    own_dirs = {os.path.realpath(os.path.dirname(a)) for a in own if isinstance(a, str)}
    own_ports = {_port(a) for a in own}
    own_ips = {ip for a in own if isinstance(a, tuple) for ip in _ips(*a)}
    for addr in theirs:
        if isinstance(addr, str):
            if hosts is not None:
                raise DsnRefused("a unix socket is this machine's own: give a host on the allow-list")
            if os.path.realpath(os.path.dirname(addr)) in own_dirs:
                raise DsnRefused("the DSN names the product's own PostgreSQL server (its socket directory)")
            continue
        host, port = addr
        if hosts is not None and not host_allowed(host, hosts):
            raise DsnRefused(
                f"host {host} is not on the allow-list ({', '.join(hosts)}; RENEWALS_CONNECTOR_HOSTS adds yours)"
            )
        if port in own_ports and any(ip in own_ips or _is_this_machine(ip) for ip in _ips(host, port)):
            raise DsnRefused(f"{host}:{port} is the product's own PostgreSQL server")


async def server_identity(conn: Any) -> str:
    """What a server says about itself: its start time (to the microsecond) and port. Any role may read both."""
    return str(await conn.fetchval(IDENTITY))


async def is_same_server(conn: asyncpg.Connection, own_identity: str | None) -> bool:
    return own_identity is not None and await server_identity(conn) == own_identity
