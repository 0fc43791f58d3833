"""A customer's earlier diary entry, as the database returns it and a model reads it."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from schemas.verdict import Classification, Severity


class PreviousEntry(BaseModel):
    run_date: dt.date
    classification: Classification
    severity: Severity
    paragraph: str
