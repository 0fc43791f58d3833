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


# Any date a person gives (a scan's or a report's day, the diary's `since`) lies in this window around today:
# "0" was read as 1970-01-01, and scans were started for 1602 and 6850 (issue 13). Defined here, once.
PAST_DAYS, FUTURE_DAYS = 400, 1


def check_day(day: dt.date, today: dt.date | None = None) -> dt.date:
    """`day` itself, or a ValueError that states the window."""
    today = today or dt.datetime.now(dt.UTC).date()
    first, last = today - dt.timedelta(days=PAST_DAYS), today + dt.timedelta(days=FUTURE_DAYS)
    if not first <= day <= last:
        raise ValueError(
            f"{day.isoformat()} is outside the accepted window {first.isoformat()} .. {last.isoformat()} "
            f"(today -{PAST_DAYS} days to today +{FUTURE_DAYS})"
        )
    return day


def check_time(when: dt.datetime) -> dt.datetime:
    """A moment, held to the same window by its UTC date (a naive one is read as UTC)."""
    check_day((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).date())
    return when
