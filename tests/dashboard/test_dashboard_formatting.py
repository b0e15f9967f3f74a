"""How the dashboard writes money, shares, ratios and dates."""

from __future__ import annotations

import datetime as dt
import math

import dashboard_harness  # puts the repository on sys.path (and names it)
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


# --------------------------------------------------------------------------- one rounding rule


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.478, 0, "48%"),  # issue 15: Streamlit's format="percent" showed 47%
        (0.125, 0, "13%"),  # a half rounds away from zero (Python's own format says 12%)
        (-0.125, 0, "-13%"),
        (0.0449, 0, "4%"),
        (0.995, 0, "100%"),
        (0.2345, 1, "23.5%"),
        (0.00049, 1, "0.0%"),
        (-0.00049, 0, "0%"),  # never "-0%"
    ],
)
def test_every_percentage_rounds_to_the_nearest_point_halves_up(value, digits, text):
    assert fmt.share(value, digits) == text
    assert fmt.percent_points(value, digits) == float(text.rstrip("%"))


def test_signed_shares_round_the_same_way():
    assert fmt.signed_share(0.125, 0) == "+13%"
    assert fmt.signed_share(-0.0005, 1) == "-0.1%"
    assert fmt.signed_share(0.0, 0) == "+0%"


def test_a_table_shows_the_same_points_as_a_card():
    frame = pd.DataFrame({"rep": ["a", "b", "c"], "win_rate": [0.478, 0.125, None]})
    shown = fmt.with_percent_points(frame, ["win_rate"])
    assert shown["win_rate"].tolist()[:2] == [48.0, 13.0] and pd.isna(shown["win_rate"].tolist()[2])
    assert frame["win_rate"].tolist()[0] == 0.478, "the input frame is left as it was"
    assert fmt.percent_column()["type_config"]["format"] == "%.0f%%"


def test_no_page_formats_a_percentage_its_own_way():
    """Every percentage goes through formatting.py: no Streamlit `format="percent"` (it truncates)
    and no Python `:.0%` in the pages."""
    import re

    pages = sorted((dashboard_harness.REPOSITORY / "dashboard").glob("*.py"))
    offenders = {
        path.name: hits
        for path in pages
        if path.name != "formatting.py"
        and (hits := re.findall(r'format="percent"|:[+]?\.\d%\}', path.read_text()))
    }
    assert pages and not offenders, offenders


def test_relative_days():
    today = dt.date(2026, 12, 1)
    assert fmt.relative_day(dt.date(2026, 11, 9), today) == "22 days ago"
    assert fmt.relative_day(dt.date(2026, 12, 2), today) == "tomorrow"
    assert fmt.relative_day(dt.date(2026, 11, 30), today) == "yesterday"
    assert fmt.relative_day(pd.Timestamp("2026-12-01"), today) == "today"
    assert fmt.relative_day(dt.date(2026, 12, 6), today) == "in 5 days"
    assert fmt.relative_day(None, today) == fmt.MISSING


def test_the_run_rate_axis_ends_past_100_percent_and_at_most_200():
    """Issue 14: one rep projected at 372% squashed everyone else's bar on the HUD."""
    from dashboard.run_rate_hud import AXIS_CAP, axis_end

    assert axis_end(pd.Series([3.72, 0.5])) == AXIS_CAP == 2.0
    assert axis_end(pd.Series([0.6]), pd.Series([None], dtype=float)) == 1.2  # 100% always in view
    assert axis_end(pd.Series([1.4])) == 1.6


def test_a_week_ago_change_of_zero_says_no_change_and_shows_no_arrow():
    from dashboard.health_strip import arrow_of, delta_count, delta_money

    assert delta_count(225, 231) == "-6 vs a week ago" and arrow_of(delta_count(225, 231)) == "auto"
    assert delta_count(222, 222) == "no change vs a week ago" and arrow_of(delta_count(222, 222)) == "off"
    assert delta_money(7_300_000.2, 7_300_000.0) == "no change vs a week ago"
    assert delta_money(100.0, None) == "unknown vs a week ago" and arrow_of(delta_money(100.0, None)) == "off"
    assert delta_money(1_000.0, 2_000.0) == "-$1,000 vs a week ago"
