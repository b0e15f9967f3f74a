"""The as-of picker: every page can show the marts of a past published day (`?as_of=2026-11-27`).

The days offered are the publish log's as_of_dates whose marts the serving folder still keeps
(the last publish of each of the latest REVOPS_SERVED_DAYS_KEPT days, see
`revops.publish.files`). The picker sits in the sidebar of every page, starts from the address
and writes back to it like the team and rep filters (`url_state`); the day chosen is kept in the
session for `page_kit.load`, the one place every page's queries go through, so no page knows
about it. The latest day is the default and leaves the address without `?as_of=`.

A past day is said plainly above the page ("Showing the marts as of ..., published ... — not
the latest"); a day in the address that was not kept stops the page with a message listing
the days that are.
"""

from __future__ import annotations

import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import served, url_state
from dashboard.settings import DashboardSettingError, served_days_kept
from revops.publish.served import KeptDay

PARAM = "as_of"
WIDGET_KEY = "as_of_picker"


def label(day: KeptDay) -> str:
    return fmt.weekday_date(day.as_of_date) + (" (latest)" if day.is_current else "")


def days_kept_setting() -> str:
    try:
        days = served_days_kept()
    except DashboardSettingError as error:
        return f"`REVOPS_SERVED_DAYS_KEPT` cannot be used ({kit.md(error)})"
    return f"the last {fmt.plural(days, 'published day')} (`REVOPS_SERVED_DAYS_KEPT`)"


def picker() -> tuple[list[KeptDay], bool]:
    """Draw the picker in the sidebar and remember the day chosen for `page_kit.load`.

    Returns the days kept, and False when the address names a day that is not kept (the caller
    says so with `not_kept` instead of drawing the page)."""
    st.session_state[kit.DAY_KEY] = None
    try:
        days = served.kept_days()
    except served.ServedFileError:
        days = []
    if not days:  # nothing published (or no version kept): the pages say so themselves
        return [], url_state.wanted(PARAM) is None
    options = [day.as_of_date for day in days]
    unknown = url_state.initial(WIDGET_KEY, PARAM, options)
    by_date = {day.as_of_date: day for day in days}
    with st.sidebar:
        chosen = st.selectbox(
            "As of",
            options,
            key=WIDGET_KEY,
            format_func=lambda d: label(by_date[d]),
            help="The published days whose marts are kept; the latest is what BI reads now.",
        )
    if unknown:
        return days, False  # the address stays as it was, so the message names what it asked for
    day = by_date[chosen]
    st.session_state[kit.DAY_KEY] = None if day.is_current else day
    url_state.keep(**{PARAM: None if day.is_current else day.as_of_date})
    return days, True


def not_kept(days: list[KeptDay], title: str) -> None:
    """The page for an `?as_of=` whose marts are not kept: which days are."""
    st.title(title)
    asked = url_state.wanted(PARAM)
    if not days:
        st.warning(
            f"No published day's marts are kept yet, so there is nothing to show as of {kit.code(asked)} "
            "(the address's `?as_of=`). Run `make run` to publish, then open the page without `?as_of=`.",
            icon=":material/event_busy:",
        )
        return
    listed = ", ".join(f"**{kit.md(label(day))}** ({kit.code(day.as_of_date.isoformat())})" for day in days)
    st.warning(
        f"No marts kept for {kit.code(asked)} (the address's `?as_of=`): the serving folder keeps the marts "
        f"of {days_kept_setting()}. The days kept: {listed}. Pick one under **As of** in the sidebar.",
        icon=":material/event_busy:",
    )


def notice(days: list[KeptDay]) -> None:
    """Above a page showing a past day: which day, when it was published, and that it is not the latest."""
    day = st.session_state.get(kit.DAY_KEY)
    if day is None:
        return
    latest = next((d for d in days if d.is_current), None)
    now = f": the latest are of {fmt.weekday_date(latest.as_of_date)}" if latest is not None else ""
    st.info(
        f"Showing the marts as of **{kit.md(fmt.weekday_date(day.as_of_date))}**, published "
        f"{kit.md(fmt.timestamp(day.published_at))} — not the latest{kit.md(now)}. "
        "Pick the latest under **As of** in the sidebar.",
        icon=":material/history:",
    )
