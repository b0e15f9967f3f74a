"""The one clock of the core: UTC, as the naive timestamps the warehouse stores."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now in UTC, without tzinfo (DuckDB `timestamp` columns hold UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def utc_today() -> dt.date:
    """Today's date in UTC."""
    return dt.datetime.now(dt.UTC).date()
