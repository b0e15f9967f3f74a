"""Data health: when the marts were last published, for which day, which checks passed,
what the CRM tracks, what alerted since, and where the dbt docs are.

Reads main.publish_log, main.alerts and marts.source_coverage of the served file. Two
notices say when the
numbers on the other pages should not be trusted as today's: the last publish is more
than a day old, or a run failed after it (an alert of a blocking gate newer than the
last publish: BI keeps showing the last good marts).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import crm_coverage, served, tracking
from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard.served import ServedWarehouse

TABLES = ("main.publish_log",)
STALE_AFTER = dt.timedelta(days=1)
PUBLISH_HISTORY = 10
RECENT_ALERTS = 25
DOCS_URL = "http://127.0.0.1:8080"


def fetch(db: ServedWarehouse) -> kit.Frames:
    has_alerts = "main.alerts" in db.tables()
    return {
        "publishes": db.frame(
            f"select * from main.publish_log order by published_at desc limit {PUBLISH_HISTORY}"
        ),
        "alerts": db.frame(f"select * from main.alerts order by created_at desc limit {RECENT_ALERTS}")
        if has_alerts
        else pd.DataFrame(columns=["created_at", "kind", "severity", "title", "message"]),
        "coverage": tracking.fetch(db),
    }


def failed_after(alerts: pd.DataFrame, published_at: object) -> pd.DataFrame:
    """Blocking alerts raised after the last publish: the runs that failed since."""
    if alerts.empty:
        return alerts
    blocking = alerts[(alerts["kind"] == "gate_failure") | (alerts["severity"] == "blocking")]
    if fmt.is_missing(published_at):
        return blocking
    return blocking[blocking["created_at"] > published_at]


def checks_frame(raw: object) -> pd.DataFrame:
    try:
        checks = json.loads(raw) if isinstance(raw, str) and raw else []
    except json.JSONDecodeError:
        checks = []
    frame = pd.DataFrame(checks, columns=None)
    if frame.empty:
        return frame
    frame = frame.rename(
        columns={"asset": "Asset", "check": "Check", "passed": "Passed", "severity": "Severity"}
    )
    if "Passed" in frame:
        frame = frame.sort_values("Passed", kind="stable")
    return frame


def row_counts_frame(raw: object) -> pd.DataFrame:
    try:
        counts = json.loads(raw) if isinstance(raw, str) and raw else {}
    except json.JSONDecodeError:
        counts = {}
    return pd.DataFrame({"Mart": list(counts), "Rows": list(counts.values())})


def docs_notice() -> None:
    index = served.dbt_docs_index()
    if index is None:
        st.markdown(
            "The dbt docs (every mart and column, with lineage) are not generated on this machine yet: "
            f"`make docs` generates them and serves them on {DOCS_URL}."
        )
    else:
        built = dt.datetime.fromtimestamp(index.stat().st_mtime, dt.UTC).replace(tzinfo=None)
        st.markdown(
            f"The dbt docs (every mart and column, with lineage) were generated {fmt.age(kit.utcnow() - built)} ago "
            f"({kit.code(index)}). Open them with `make docs`, then {DOCS_URL}."
        )


def alerts_notice(failed: pd.DataFrame, last_published: object) -> None:
    latest = failed.sort_values("created_at").iloc[-1]
    what = kit.md(latest.title) if not fmt.is_missing(latest.title) else "a blocking check failed"
    since = (
        f"the last good publish of {fmt.timestamp(last_published)}"
        if not fmt.is_missing(last_published)
        else "nothing was ever published"
    )
    st.warning(
        f"**The last run failed** at {kit.md(fmt.timestamp(latest.created_at))}: {what}. "
        f"Every page shows the marts of {kit.md(since)}; "
        f"{fmt.count(len(failed))} blocking alert" + ("" if len(failed) == 1 else "s") + " since (below).",
        icon=":material/error:",
    )


def render() -> None:
    kit.page_header("Data health", "Can I trust today's numbers?")
    frames = kit.load(fetch, TABLES)
    if frames is None:
        docs_notice()
        return
    publishes, alerts = frames["publishes"], frames["alerts"]
    if publishes.empty:
        st.warning(
            "Nothing has been published yet: every run so far stopped at a gate (alerts below).",
            icon=":material/error:",
        )
    else:
        last = publishes.iloc[0]
        _freshness(last, failed_after(alerts, last.published_at))
        _last_publish(last)
        crm_coverage.render(frames["coverage"])
        _rows_and_checks(last)
        _publish_history(publishes)
    _recent_alerts(alerts)
    st.subheader("dbt docs")
    docs_notice()


def _freshness(last: Any, failed: pd.DataFrame) -> None:
    """One verdict on top: a run failed since, the marts are stale, or they are fresh."""
    age = kit.utcnow() - last.published_at.to_pydatetime()
    if not failed.empty:
        alerts_notice(failed, last.published_at)
    if age > STALE_AFTER:
        st.warning(
            f"**The served marts are {fmt.age(age)} old** (published {kit.md(fmt.timestamp(last.published_at))}, "
            f"as of {fmt.date(last.as_of_date)}): the daily build has not published since.",
            icon=":material/schedule:",
        )
    if failed.empty and age <= STALE_AFTER:
        warned = int(last.checks_warned or 0)
        st.success(
            f"Fresh: published {fmt.age(age)} ago with {fmt.plural(last.checks_passed, 'check')} passed"
            + (f" and {fmt.plural(warned, 'warning')}" if warned else "")
            + "; no run has failed since.",
            icon=":material/check_circle:",
        )


def _last_publish(last: Any) -> None:
    age = kit.utcnow() - last.published_at.to_pydatetime()
    cols = st.columns(4)
    cols[0].metric(
        "Published",
        f"{fmt.short_age(age)} ago",
        help=kit.md(fmt.timestamp(last.published_at)),
        border=True,
    )
    cols[1].metric(
        "As of",
        fmt.short_date(last.as_of_date),
        help=f"The marts describe {fmt.weekday_date(last.as_of_date)} (the build's as_of_date)",
        border=True,
    )
    cols[2].metric(
        "Checks passed",
        fmt.count(last.checks_passed),
        help=f"{fmt.count(last.checks_warned)} warned",
        border=True,
    )
    cols[3].metric("Marts published", fmt.count(last.mart_count), border=True)
    st.caption(
        f"Publish {kit.code(last.publish_id)} · run {kit.code(str(last.run_id)[:8])} · "
        f"{kit.md(fmt.timestamp(last.published_at))} · file {kit.code(served.served_path())}"
    )


def _rows_and_checks(last: Any) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Rows per mart")
        counts = row_counts_frame(last.mart_row_counts)
        if counts.empty:
            kit.empty("The publish recorded no row counts.")
        else:
            st.dataframe(
                fmt.neutralize_formulas(counts),
                hide_index=True,
                width="stretch",
                column_config={"Rows": st.column_config.NumberColumn(format="localized")},
            )
    with right:
        st.subheader("Checks of the last publish")
        checks = checks_frame(last.checks)
        if checks.empty:
            kit.empty("The publish recorded no individual checks.")
        else:
            st.dataframe(fmt.neutralize_formulas(checks), hide_index=True, width="stretch")


def _publish_history(publishes: pd.DataFrame) -> None:
    st.subheader("Publish history")
    history = pd.DataFrame(
        {
            "Published (UTC)": publishes["published_at"],
            "As of": [fmt.as_date(d) for d in publishes["as_of_date"]],
            "Run": [str(r)[:8] for r in publishes["run_id"]],
            "Checks passed": publishes["checks_passed"],
            "Checks warned": publishes["checks_warned"],
            "Marts": publishes["mart_count"],
        }
    )
    st.dataframe(
        fmt.neutralize_formulas(history),
        hide_index=True,
        width="stretch",
        column_config={"Published (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )


def _recent_alerts(alerts: pd.DataFrame) -> None:
    st.subheader("Recent alerts")
    if alerts.empty:
        kit.empty("No alerts recorded: no gate has failed and no hygiene digest was sent.")
        return
    shown = pd.DataFrame(
        {
            "When (UTC)": alerts["created_at"],
            "Severity": alerts["severity"],
            "Kind": alerts["kind"],
            "Title": alerts["title"],
            "Table": alerts.get("table_name"),
            "Check": alerts.get("check_name"),
            "Failing rows": alerts.get("failing_row_count"),
            "Message": alerts["message"],
        }
    )
    st.dataframe(
        fmt.neutralize_formulas(shown),
        hide_index=True,
        width="stretch",
        column_config={
            "When (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Message": st.column_config.TextColumn(width="large"),
        },
    )
