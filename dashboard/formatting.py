"""How the dashboard writes numbers: money as money, shares as percentages, dates for people.

Every function takes what DuckDB/pandas hand back (None, NaN, NaT, numpy scalars) and
returns text; a missing value is an em dash, never "nan".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

MISSING = "—"


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas ships with the project
        pass
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(value != value)  # NaN and NaT are the values not equal to themselves
    except (TypeError, ValueError):
        return False


def money(value: Any) -> str:
    """$1.2M from a million up, $3.4B from a billion up, $12,345 below: what a sales team reads."""
    if is_missing(value):
        return MISSING
    amount = float(value)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 999_950_000:  # what would print as $1000.0M is $1.0B
        return f"{sign}${amount / 1e9:.1f}B"
    if amount >= 1_000_000:
        return f"{sign}${amount / 1e6:.1f}M"
    return f"{sign}${amount:,.0f}"


def share(value: Any, digits: int = 0) -> str:
    """A 0-1 share as a percentage: 0.497 -> 50% (digits=0) or 49.7% (digits=1)."""
    if is_missing(value):
        return MISSING
    return f"{float(value) * 100:.{digits}f}%"


def signed_share(value: Any, digits: int = 1) -> str:
    """A change or a variance: +8.3% / -20.5%."""
    if is_missing(value):
        return MISSING
    return f"{float(value) * 100:+.{digits}f}%"


def ratio(value: Any, digits: int = 1) -> str:
    """Coverage and other multiples: 2.6x."""
    if is_missing(value):
        return MISSING
    return f"{float(value):.{digits}f}x"


def count(value: Any) -> str:
    if is_missing(value):
        return MISSING
    return f"{int(value):,}"


def days(value: Any) -> str:
    if is_missing(value):
        return MISSING
    number = float(value)
    return f"{number:,.0f} day" + ("" if round(number) == 1 else "s")


def as_date(value: Any) -> dt.date | None:
    if is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    return dt.date.fromisoformat(str(value)[:10])


def date(value: Any) -> str:
    """Nov 30, 2026."""
    day = as_date(value)
    return MISSING if day is None else f"{day:%b} {day.day}, {day.year}"


def weekday_date(value: Any) -> str:
    """Monday, Nov 23, 2026."""
    day = as_date(value)
    return MISSING if day is None else f"{day:%A}, {day:%b} {day.day}, {day.year}"


def timestamp(value: Any) -> str:
    """A UTC timestamp to the minute: 2026-11-23 08:19 UTC."""
    if is_missing(value):
        return MISSING
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return f"{value:%Y-%m-%d %H:%M} UTC"


def age(delta: dt.timedelta) -> str:
    """How long ago, roughly: 'just now', '12 minutes', '5 hours', '3 days'."""
    seconds = max(delta.total_seconds(), 0)
    if seconds < 60:
        return "less than a minute"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = int(seconds // size)
            return f"{amount} {unit}" + ("" if amount == 1 else "s")
    return "less than a minute"  # pragma: no cover


def short_age(delta: dt.timedelta) -> str:
    """How long ago, in a few characters: '40s', '14m', '5h', '3d'."""
    seconds = max(int(delta.total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def short_date(value: Any) -> str:
    """Nov 23."""
    day = as_date(value)
    return MISSING if day is None else f"{day:%b} {day.day}"


def plural(number: Any, noun: str) -> str:
    """'1 check', '12 checks'."""
    amount = 0 if is_missing(number) else int(number)
    return f"{amount:,} {noun}" + ("" if amount == 1 else "s")


def period_label(period_type: str, period_start: Any) -> str:
    """'Nov 2026' for a month, 'Q4 2026' for a quarter."""
    day = as_date(period_start)
    if day is None:
        return MISSING
    if period_type == "quarter":
        return f"Q{(day.month - 1) // 3 + 1} {day.year}"
    return f"{day:%b} {day.year}"


# --------------------------------------------------------------------------- CSV download safety

# A cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+cmd|...`, `@SUM(...)`,
# or one hidden behind a tab or carriage return): OWASP's CSV-injection list.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?[$€£]?\d[\d,]*(\.\d+)?\s?[%kKMB]?")


def neutralize_formula(value: Any) -> Any:
    """`'=HYPERLINK(...)` for `=HYPERLINK(...)`: text a spreadsheet would evaluate gets a
    leading apostrophe, which shows it as text. Numbers written as text (`-12%`,
    `-$1,200`) and every non-text value are returned as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralize_formulas(frame):
    """A copy of a DataFrame safe to offer as CSV (Streamlit's table download): every
    text cell through `neutralize_formula`; column names too."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) in ("string", "str"):
            out[column] = out[column].map(neutralize_formula)
    out.columns = [neutralize_formula(c) for c in out.columns]
    return out
