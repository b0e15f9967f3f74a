"""Data health's "What your CRM tracks": marts.source_coverage per object, untracked first.

One row per contract object: tracked, partly tracked or not tracked, the rows loaded,
the columns the source did not have and what they feed. A served file published before
source_coverage existed says so instead.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import tracking

OBJECT_LABELS = {
    "user": "Users (reps and managers)",
    "account": "Accounts",
    "opportunity": "Opportunities (deals)",
    "opportunity_history": "Opportunity history",
    "task": "Tasks (calls and emails)",
    "event": "Events (meetings)",
    "lead": "Leads",
    "forecasting_quota": "Quotas",
}
STATE_ORDER = {"Not tracked": 0, "Partly tracked": 1, "Tracked": 2}
COLUMN_LABELS = {
    "next_step_date_c": "next-step date",
    "forecast_category_name": "forecast category",
    "number_of_employees": "employees",
    "what_id": "related deal",
    "who_id": "related contact",
}


def column_label(column: str) -> str:
    """`next_step_date_c` -> "next-step date", `trigger_event_c` -> "trigger event"."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    return column.removesuffix("_c").replace("_", " ")


def objects_frame(tr: tracking.Tracking) -> pd.DataFrame:
    """One row per object: state, rows, untracked columns and what they affect; untracked first."""
    rows = []
    for obj, group in tr.coverage.groupby("object_name", sort=False):
        untracked = list(group.loc[~group["is_tracked"].astype(bool), "column_name"])
        if len(untracked) == len(group):
            state, missing = "Not tracked", "the whole object"
            affects = tr.affects(obj, None)
        else:
            state = "Partly tracked" if untracked else "Tracked"
            missing = ", ".join(column_label(c) for c in untracked)
            affects = [a for column in untracked for a in tr.affects(obj, column)]
        mapped = group["mapped_from"].dropna()
        rows.append(
            {
                "Object": OBJECT_LABELS.get(obj, obj),
                "Tracked": state,
                "Rows": int(group["row_count"].max() or 0),
                "Not tracked": missing,
                "What it affects": "; ".join(dict.fromkeys(affects)) if untracked else "",
                "Read from": mapped.iloc[0].split(":")[0] if not mapped.empty else "",
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_order"] = frame["Tracked"].map(STATE_ORDER)
    return frame.sort_values(["_order", "Object"], kind="stable").drop(columns="_order")


def render(coverage: pd.DataFrame) -> None:
    st.subheader("What your CRM tracks")
    tr = tracking.Tracking(coverage)
    if not tr.recorded:
        kit.empty(
            "This publish does not say what the CRM tracks (it has no `source_coverage` mart: it was "
            "published by an older version). Every page assumes every input is tracked; the next "
            "`make run` records it."
        )
        return
    if not bool(coverage["is_recorded"].astype(bool).any()):
        st.caption("The build did not record its source (a bare dbt run): every input counts as tracked.")
    parts = tr.untracked_parts()
    source = f"Source: **{kit.md(tr.source_label())}**"
    if parts:
        st.markdown(
            f"{source}. Your CRM does not track "
            + ", ".join(f"**{kit.md(p.label.lower())}**" for p in parts)
            + f": the numbers that need them read *{tracking.NOT_TRACKED}* on every page, never 0 or a "
            "red flag. Add them to the CRM (or map them in the source's mapping file) to get those numbers."
        )
    else:
        st.markdown(f"{source}. Everything the warehouse uses is tracked.")
    frame = objects_frame(tr)
    frame["Rows"] = [fmt.count(n) for n in frame["Rows"]]
    st.table(fmt.neutralize_formulas(frame).set_index("Object"))  # a table: the long texts wrap
