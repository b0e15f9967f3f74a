"""The line under the page list (which day the marts describe, when they were published) and
the banner every page shows when the last run failed or the marts are stale."""

from __future__ import annotations

import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import served
from dashboard.data_health import STALE_AFTER, failed_after
from dashboard.served import ServedWarehouse


def fetch(db: ServedWarehouse) -> kit.Frames:
    frames = {
        "last": db.frame(
            "select as_of_date, published_at from main.publish_log order by published_at desc limit 1"
        )
    }
    if "main.alerts" in db.tables():
        frames["alerts"] = db.frame(
            "select created_at, kind, severity, title from main.alerts "
            "where created_at > coalesce((select max(published_at) from main.publish_log), timestamp '1900-01-01') "
            "order by created_at desc limit 50"
        )
    return frames


def banner(frames: kit.Frames | None) -> None:
    """On every page: a warning when a run failed after the last publish or the marts are stale."""
    if not frames or frames["last"].empty:
        return
    row = frames["last"].iloc[0]
    alerts = frames.get("alerts")
    failed = failed_after(alerts, row.published_at) if alerts is not None else None
    age = kit.utcnow() - row.published_at.to_pydatetime()
    these = f"these are the marts of {fmt.date(row.as_of_date)}, published {fmt.age(age)} ago"
    if failed is not None and not failed.empty:
        latest = failed.sort_values("created_at").iloc[-1]
        what = kit.md(latest.title) if not fmt.is_missing(latest.title) else "a blocking check failed"
        st.warning(  # a warning, not an error box: the page below is right, only not new
            f"**The last run failed** ({kit.md(fmt.timestamp(latest.created_at))}: {what}): {these}. "
            "See **Data health**.",
            icon=":material/error:",
        )
    elif age > STALE_AFTER:
        st.warning(
            f"**The marts are stale**: {these}; the daily build has not published since. See **Data health**.",
            icon=":material/schedule:",
        )


def publish_status() -> kit.Frames | None:
    """Draw the sidebar line; the frames it read (for `banner`), or None."""
    with st.sidebar:
        path = served.served_path()
        if served.file_stamp(path) is None:
            st.caption("No published warehouse yet.")
            return None
        try:
            with served.open_served(path) as db:
                if db is None or "main.publish_log" not in db.tables():
                    st.caption("Nothing published yet.")
                    return None
                frames = fetch(db)
                last = frames["last"]
        except served.ServedFileError:
            st.caption("The served warehouse cannot be read.")
            return None
        if last.empty:
            st.caption("Nothing published yet.")
            return frames
        row = last.iloc[0]
        age = kit.utcnow() - row.published_at.to_pydatetime()
        st.caption(
            f"Marts as of **{fmt.date(row.as_of_date)}**  \n"
            f"published {fmt.age(age)} ago ({kit.md(fmt.timestamp(row.published_at))})"
        )
    return frames
