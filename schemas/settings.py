"""Process configuration: one prefix (RENEWALS_), secrets refused when left at a placeholder outside development."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER = "change-me"
VENDOR_DOMAINS = (
    "stripe.com",
    "hubapi.com",
    "salesforce.com",
    "slack.com",
    "anthropic.com",
    "openai.com",
    "googleapis.com",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENEWALS_", env_file=".env", extra="ignore")

    environment: str = "development"  # development | production
    data_dir: Path = Path(".renewals")

    # PostgreSQL. Unset: an embedded server under data_dir. DATABASE_URL is the owner (runs migrations);
    # the application itself connects as renewals_app with app_db_password.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "RENEWALS_DATABASE_URL")
    )
    app_db_password: str = PLACEHOLDER

    temporal_address: str = "127.0.0.1:7233"
    # The dev server `renewals dev-server` and `renewals demo` start; unset: temporal-dev.yaml's. A second stack on
    # one machine sets its own (the command-line flags of the same names win over these).
    temporal_port: int | None = None  # also the default address (127.0.0.1:<port>) when the address is not set
    temporal_ui_port: int | None = None
    temporal_http_port: int | None = None
    temporal_metrics_port: int | None = None
    temporal_namespace: str = "default"

    # Fernet key for connector secrets at rest. In development one is generated under data_dir.
    secret_key: str | None = None

    worker_metrics_bind: str | None = None  # e.g. 0.0.0.0:9464: the worker's Temporal SDK metrics
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # /metrics names every tenant. With a token the scraper sends `Authorization: Bearer <token>`; with a bind
    # (e.g. 127.0.0.1:9100) it is served there only, not on the API's port. Production needs one or the other.
    metrics_token: str | None = None
    metrics_bind: str | None = None
    # Request bodies past these are refused (413) before anything reads them; POST /v1/usage carries up to 10,000
    # rows (3.7 MB of compact JSON at the widest values, 5.1 MB indented), so it has a cap of its own.
    max_body_bytes: int = Field(1_048_576, ge=1024)
    usage_max_body_bytes: int = Field(8_388_608, ge=1024)
    # Seconds. A stopped or hung PostgreSQL must cost a request seconds (then 503), not minutes.
    db_acquire_timeout: float = Field(5.0, gt=0)
    db_command_timeout: float = Field(5.0, gt=0)  # the API's statements; the worker's are longer
    worker_db_command_timeout: float = Field(60.0, gt=0)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_from: str = "renewals@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False

    # Scan shape. chunk_size customers share one ScanChunkWorkflow and one gather call per connector.
    chunk_size: int = 200
    batch_size: int = 10
    # (How many chunks run at once is workflows.scan.PARALLEL_CHUNKS: the workflow decides it, so changing it is a
    # workflow change, replay-tested, not a setting.)
    # Requests per second per tenant and vendor, e.g. RENEWALS_CONNECTOR_RPS='{"slack": 0.3}' for a Slack app
    # on a lower tier. Unset vendors keep connectors.registry.REQUESTS_PER_SECOND (under the documented limits).
    connector_rps: dict[str, float] = Field(default_factory=dict)
    # Outside development a connector's api_base must be https on a vendor's domain or one listed here (a proxy),
    # so a tenant admin cannot make the API probe the internal network. Development allows any (the sandbox).
    connector_hosts: list[str] = Field(default_factory=list)

    # Which task queues this worker process polls (deploy/ runs one Deployment per group): any of main, stripe,
    # hubspot, salesforce, slack, email. Empty: all of them (one process does everything, as in development).
    worker_queues: Annotated[list[str], NoDecode] = Field(default_factory=list)  # "main,stripe" or a list
    # The Temporal sandbox re-imports a workflow's module for every run and guards every activation: it catches
    # non-determinism early, at about a third of the scan's CPU on a large tenant (bench/scale.py). Our workflows
    # only decide (no I/O), and tests/test_replay.py holds them deterministic; a production worker may turn it off.
    workflow_sandbox: bool = True
    # Workflow tasks and activities one process runs at once on the main queue.
    worker_workflow_tasks: int = Field(100, ge=2)
    worker_activities: int = Field(50, ge=1)  # above the pool (10 connections) they mostly queue for it
    # Workflows the main worker keeps in memory. A waiting draft's approval holds about 70 KB (bench/api_load.py's
    # worker_kb_per_waiting_approval); a Send to one that was evicted first fetches and replays its history.
    worker_cached_workflows: int = Field(5000, ge=0)

    @field_validator("worker_queues", mode="before")
    @classmethod
    def _groups(cls, value: str | list[str]) -> list[str]:
        from schemas.queues import GROUPS

        groups = [g.strip() for g in value.split(",") if g.strip()] if isinstance(value, str) else list(value)
        unknown = sorted(set(groups) - set(GROUPS))
        if unknown:
            raise ValueError(f"RENEWALS_WORKER_QUEUES: unknown queue group(s) {unknown}; known: {sorted(GROUPS)}")
        return groups

    @field_validator("metrics_bind")
    @classmethod
    def _bind(cls, bind: str | None) -> str | None:
        if bind is not None:
            split_bind(bind)
        return bind

    def api_base_hosts(self) -> list[str] | None:
        return None if self.environment == "development" else [*VENDOR_DOMAINS, *self.connector_hosts]

    @model_validator(mode="after")
    def _address_follows_port(self) -> Settings:
        if self.temporal_port is not None and "temporal_address" not in self.model_fields_set:
            self.temporal_address = f"127.0.0.1:{self.temporal_port}"
        return self

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment != "development":
            if not self.secret_key or self.secret_key == PLACEHOLDER:
                raise ValueError(
                    "RENEWALS_SECRET_KEY must be set to a Fernet key outside development "
                    "(generate one: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())')"
                )
            if self.app_db_password == PLACEHOLDER:
                raise ValueError("RENEWALS_APP_DB_PASSWORD must be set outside development")
            if not self.metrics_token and not is_loopback_bind(self.metrics_bind):
                raise ValueError(
                    "/metrics names every tenant: outside development set RENEWALS_METRICS_TOKEN (the scraper's "
                    "Bearer token) or serve it on a local port only, e.g. RENEWALS_METRICS_BIND=127.0.0.1:9100"
                )
        return self


def split_bind(bind: str) -> tuple[str, int]:
    """'127.0.0.1:9100' or '[::1]:9100' -> (host, port)."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{bind!r} is not host:port")
    return host.strip("[]"), int(port)


def is_loopback_bind(bind: str | None) -> bool:
    if not bind:
        return False
    host, _ = split_bind(bind)
    return host == "localhost" or (_is_ip(host) and ipaddress.ip_address(host).is_loopback)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@lru_cache
def get_settings() -> Settings:
    return Settings()
