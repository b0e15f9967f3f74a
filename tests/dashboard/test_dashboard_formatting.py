"""How the dashboard writes money, shares, ratios and dates."""

from __future__ import annotations

import datetime as dt
import math

import dashboard_harness  # noqa: F401  (puts the repository on sys.path)
import pandas as pd
import pytest

from dashboard import formatting as fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "$0"),
        (12345.4, "$12,345"),
        (999_999, "$999,999"),
        (1_000_000, "$1.0M"),
        (1_234_567, "$1.2M"),
        (47_296_700, "$47.3M"),
        (999_960_000, "$1.0B"),
        (3_400_000_000, "$3.4B"),
        (-632_000, "-$632,000"),
        (-2_500_000, "-$2.5M"),
    ],
)
def test_money(value, text):
    assert fmt.money(value) == text


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT, math.nan])
def test_missing_values_are_a_dash_never_nan(missing):
    for write in (fmt.money, fmt.share, fmt.signed_share, fmt.ratio, fmt.count, fmt.date, fmt.days):
        assert write(missing) == fmt.MISSING


def test_shares_ratios_and_counts():
    assert fmt.share(0.49668) == "50%"
    assert fmt.share(0.49668, 1) == "49.7%"
    assert fmt.share(1.4877) == "149%"
    assert fmt.signed_share(0.0829) == "+8.3%"
    assert fmt.signed_share(-0.2055, 0) == "-21%"
    assert fmt.ratio(2.604923) == "2.6x"
    assert fmt.count(403359) == "403,359"
    assert fmt.days(1) == "1 day" and fmt.days(45.0) == "45 days"
    assert fmt.plural(1, "check") == "1 check" and fmt.plural(12, "check") == "12 checks"


def test_dates_and_periods():
    day = dt.date(2026, 11, 23)
    assert fmt.date(day) == "Nov 23, 2026"
    assert fmt.date(pd.Timestamp("2026-11-23")) == "Nov 23, 2026"
    assert fmt.weekday_date(day) == "Monday, Nov 23, 2026"
    assert fmt.short_date(day) == "Nov 23"
    assert fmt.period_label("quarter", dt.date(2026, 10, 1)) == "Q4 2026"
    assert fmt.period_label("month", pd.Timestamp("2026-12-01")) == "Dec 2026"
    assert fmt.timestamp(dt.datetime(2026, 11, 23, 8, 19, 6)) == "2026-11-23 08:19 UTC"


def test_ages():
    assert fmt.age(dt.timedelta(seconds=20)) == "less than a minute"
    assert fmt.age(dt.timedelta(minutes=1)) == "1 minute"
    assert fmt.age(dt.timedelta(hours=5, minutes=3)) == "5 hours"
    assert fmt.age(dt.timedelta(days=3)) == "3 days"
    assert fmt.short_age(dt.timedelta(minutes=14)) == "14m"
    assert fmt.short_age(dt.timedelta(days=2, hours=1)) == "2d"
