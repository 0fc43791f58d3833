"""Dates in a tenant's time zone. Imported by workflows through the sandbox's pass-through, so zoneinfo here is
the real module (the sandbox restricts it: it reads the tz database from disk, which does not change under a
running workflow)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownTimeZone(ValueError):
    pass


def local_day(when: dt.datetime, timezone: str) -> dt.date:
    try:
        return when.astimezone(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise UnknownTimeZone(timezone) from e
