"""How the dashboard writes numbers: money as money, shares as percentages, dates for people.

Every function takes what DuckDB/pandas hand back (None, NaN, NaT, numpy scalars) and
returns text; a missing value is an em dash, never "nan".
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal
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


# --------------------------------------------------------------------------- percentages
#
# One rounding rule for every percentage in the app: to the nearest point (or tenth of a
# point), halves away from zero, on the decimal value (0.478 -> 48%, 0.125 -> 13%, 0.0449 -> 4%).
# Tables keep numbers (so they sort) as percentage points rounded here (`percent_points`) and
# shown with `percent_column`, so a table and a card never disagree.


def percent_points(value: Any, digits: int = 0) -> float | None:
    """A 0-1 share as percentage points rounded by the app's rule: 0.478 -> 48.0; None when missing."""
    if is_missing(value):
        return None
    points = Decimal(repr(float(value))) * 100
    return float(points.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def share(value: Any, digits: int = 0) -> str:
    """A 0-1 share as a percentage: 0.478 -> 48% (digits=0) or 47.8% (digits=1); halves round up."""
    points = percent_points(value, digits)
    if points is None:
        return MISSING
    return f"{points + 0.0:.{digits}f}%"  # + 0.0: never "-0%"


def signed_share(value: Any, digits: int = 1) -> str:
    """A change or a variance: +8.3% / -20.5% (the same rounding as `share`)."""
    points = percent_points(value, digits)
    if points is None:
        return MISSING
    return f"{points + 0.0:+.{digits}f}%"


def percent_points_column(values: Any, digits: int = 0) -> list[float | None]:
    """A column of 0-1 shares as rounded percentage points, for a table with `percent_column`."""
    return [percent_points(v, digits) for v in values]


def with_percent_points(frame, columns, digits: int = 0):
    """A copy of a DataFrame with the 0-1 share `columns` as rounded percentage points."""
    out = frame.copy()
    for column in columns:
        out[column] = percent_points_column(out[column], digits)
    return out


def percent_column(label: str | None = None, digits: int = 0, **options: Any):
    """A Streamlit column of `percent_points_column` values: 48%. (Streamlit's own
    `format="percent"` cuts 0.478 to 47%: its step truncates instead of rounding.)"""
    import streamlit as st

    return st.column_config.NumberColumn(label, format=f"%.{digits}f%%", **options)


def percent_bar_column(label: str | None = None, max_points: float = 100, **options: Any):
    """A progress bar of `percent_points_column` values (0 to `max_points`), labelled 48%."""
    import streamlit as st

    return st.column_config.ProgressColumn(
        label, format="%.0f%%", min_value=0, max_value=max_points, **options
    )


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


def relative_day(value: Any, as_of: Any) -> str:
    """A day said from `as_of`: 'today', 'yesterday', 'tomorrow', '22 days ago', 'in 5 days'."""
    day, today = as_date(value), as_date(as_of)
    if day is None or today is None:
        return MISSING
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == -1:
        return "yesterday"
    if delta == 1:
        return "tomorrow"
    return f"{-delta:,} days ago" if delta < 0 else f"in {delta:,} days"


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
