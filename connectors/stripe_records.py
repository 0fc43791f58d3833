"""The Stripe fields the connector reads, as pydantic models: a record is checked here, at the edge, before any
signal math touches it. A record that does not fit costs its own customer the Stripe evidence, named with the
customer and the object ID, never the chunk (a `created` sent as a string once failed a whole tenant's scan with a
TypeError deep in a sort).

Strict types: Stripe sends integers for amounts and timestamps, so anything else is a broken record, not a value
to coerce. Fields the connector does not read are ignored.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class MalformedRecord(ValueError):
    """A Stripe object the connector cannot read; the message names the object, its customer and the fields."""


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Recurring(_Wire):
    interval: str | None = None
    interval_count: int | None = None


class Price(_Wire):
    """A Price (`unit_amount`, `recurring`) or a legacy Plan (`amount`, `interval`)."""

    unit_amount: int | None = None
    amount: int | None = None
    recurring: Recurring | None = None
    interval: str | None = None
    interval_count: int | None = None


class Line(_Wire):
    quantity: int | None = None
    price: Price | None = None
    plan: Price | None = None


class Lines(_Wire):
    data: list[Line] = []


class StatusTransitions(_Wire):
    paid_at: int | None = None


class Invoice(_Wire):
    id: str
    customer: str | None = None
    status: str
    created: int
    due_date: int | None = None
    amount_due: int | None = None
    attempt_count: int | None = None
    status_transitions: StatusTransitions | None = None
    lines: Lines | None = None


class SubscriptionItem(Line):
    current_period_end: int | None = None


class SubscriptionItems(_Wire):
    data: list[SubscriptionItem] = []


class Subscription(_Wire):
    id: str
    customer: str
    status: str
    created: int | None = None
    cancel_at_period_end: bool | None = None
    current_period_end: int | None = None
    items: SubscriptionItems | None = None  # None is read, not dropped: see stripe.subscription_summary
    metadata: dict[str, str] | None = None  # the contract's renewal date may live here (core/renewal)


class Customer(_Wire):
    id: str
    name: str | None = None
    email: str | None = None
    metadata: dict[str, str] | None = None


M = TypeVar("M", bound=_Wire)


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "record"


def read(model: type[M], obj: dict[str, Any], customer: str | None = None) -> dict[str, Any]:
    """`obj` checked against `model`, as a plain dict of the fields read; MalformedRecord naming it otherwise."""
    try:
        return model.model_validate(obj).model_dump()
    except ValidationError as e:
        kind = str(obj.get("object") or model.__name__.lower())
        owner = customer or obj.get("customer")
        problems = "; ".join(f"{_where(err['loc'])}: {err['msg']}" for err in e.errors()[:3])
        raise MalformedRecord(
            f"stripe {kind} {obj.get('id', '?')}{f' of {owner}' if isinstance(owner, str) else ''}: {problems}"
        ) from None
