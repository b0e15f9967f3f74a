"""The Forecast page's "How the pipeline moved" section: pipeline_waterfall as a waterfall
chart and pipeline_waterfall_deals as the list of deals behind each bar.

Start + created + pulled in + increased − decreased − won − lost − pushed out − removed =
end (DESIGN.md "Pipeline waterfall"); unchanged deals are outside the equation and listed
only in the table.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import tracking
from dashboard.served import ServedWarehouse

TABLES = ("marts.pipeline_waterfall", "marts.pipeline_waterfall_deals")
PERIODS = {"month": "This month", "quarter": "This quarter"}
WINDOWS = {"last_7_days": "Last 7 days", "period_to_date": "Since the period began"}
LABELS = {
    "start": "Start",
    "created": "Created",
    "pulled_in": "Pulled in",
    "increased": "Increased",
    "decreased": "Decreased",
    "unchanged": "Unchanged",
    "won": "Won",
    "lost": "Lost",
    "pushed_out": "Pushed out",
    "removed": "Removed",
    "end": "End",
}
SUBTRACTED = {"decreased", "won", "lost", "pushed_out", "removed"}
COLORS = {"total": "#1f4e79", "added": "#2e9d5b", "subtracted": "#d64541"}


def fetch(db: ServedWarehouse) -> dict[str, pd.DataFrame]:
    return {
        "waterfall": db.frame('select * from marts.pipeline_waterfall order by "window", movement_order'),
        "waterfall_deals": db.frame("select * from marts.pipeline_waterfall_deals"),
    }


def bars(rows: pd.DataFrame) -> pd.DataFrame:
    """One bar per movement of the equation (unchanged left out): where it starts and ends."""
    frame = rows[rows["movement"] != "unchanged"].sort_values("movement_order")
    out, level = [], 0.0
    for row in frame.itertuples():
        amount = float(row.amount)
        if row.movement in ("start", "end"):
            low, high, kind = 0.0, amount, "total"
            level = amount
        elif row.movement in SUBTRACTED:
            low, high, kind = level - amount, level, "subtracted"
            level -= amount
        else:
            low, high, kind = level, level + amount, "added"
            level += amount
        out.append(
            {
                "movement": LABELS[row.movement],
                "low": low,
                "high": high,
                "kind": kind,
                "amount": amount,
                "deals": int(row.deal_count),
            }
        )
    return pd.DataFrame(out)


def waterfall_chart(frame: pd.DataFrame) -> alt.Chart:
    order = list(frame["movement"])
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("movement:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("low:Q", axis=kit.money_axis("Open pipeline")),
            y2="high:Q",
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())),
                legend=None,
            ),
            tooltip=["movement:N", alt.Tooltip("amount:Q", format="$,.0f"), "deals:Q"],
        )
    )


def deal_rows(deals: pd.DataFrame, level: str, value: str | None) -> pd.DataFrame:
    if level == "team":
        return deals[deals["team"] == value]
    if level == "owner":
        return deals[deals["owner_id"] == value]
    return deals


def render(frames: dict[str, pd.DataFrame], level: str, value: str | None, label: str, reps) -> None:
    st.subheader("How the pipeline moved")
    waterfall = frames.get("waterfall")
    if waterfall is None or waterfall.empty:
        kit.empty("No pipeline waterfall in the published warehouse yet.")
        return
    reasons = waterfall["unknown_reason"].dropna().unique() if "unknown_reason" in waterfall else []
    if len(reasons):
        kit.empty(
            f"How the pipeline moved is unknown: {kit.md(tracking.not_tracked(reasons[0]))}. "
            "The waterfall compares the deals' state on two days, rebuilt from the CRM's history."
        )
        return
    left, right = st.columns(2)
    period = left.radio(
        "Period", list(PERIODS), horizontal=True, key="waterfall_period", format_func=PERIODS.get
    )
    window = right.radio(
        "Window", list(WINDOWS), horizontal=True, key="waterfall_window", format_func=WINDOWS.get
    )
    scoped = kit.rows_for_scope(waterfall, level, value)
    rows = scoped[(scoped["period"] == period) & (scoped["window"] == window)]
    if rows.empty:
        kit.empty(
            f"No open deals for {label} in {PERIODS[period].lower()}'s pipeline at either end of the window."
        )
        return
    by_movement = {r.movement: r for r in rows.itertuples()}
    start, end = by_movement["start"], by_movement["end"]
    st.markdown(
        f"{WINDOWS[window]} ({fmt.date(start.window_start_date)} → {fmt.date(start.window_end_date)}): "
        f"open pipeline **{kit.md(fmt.money(start.amount))}** → **{kit.md(fmt.money(end.amount))}** "
        f"({fmt.count(start.deal_count)} → {fmt.count(end.deal_count)} deals). Slipped deals (close "
        "date passed) stay in the pipeline here until their date is fixed."
    )
    kit.chart(waterfall_chart(bars(rows)))
    deals = deal_rows(frames.get("waterfall_deals", pd.DataFrame()), level, value)
    deals = deals[(deals["period"] == period) & (deals["window"] == window)]
    by_label = {LABELS[m]: m for m in LABELS if m not in ("start", "end")}
    chosen = by_label[st.selectbox("Deals behind a bar", list(by_label), key="waterfall_movement")]
    picked = deals[deals["movement"] == chosen].sort_values("amount", ascending=False)
    if picked.empty:
        kit.empty(f"No deal {LABELS[chosen].lower()} for {label} in this window.")
        return
    names = kit.rep_names(reps)
    st.dataframe(
        fmt.neutralize_formulas(
            pd.DataFrame(
                {
                    "Deal": picked["opportunity_id"],
                    "Rep": [kit.name_of(names, o) for o in picked["owner_id"]],
                    "Amount": [fmt.money(a) for a in picked["amount"]],
                    "Stage then → now": [
                        f"{fmt.MISSING if fmt.is_missing(a) else a} → {fmt.MISSING if fmt.is_missing(b) else b}"
                        for a, b in zip(picked["stage_name_start"], picked["stage_name_end"], strict=True)
                    ],
                    "Close date then → now": [
                        f"{fmt.date(a)} → {fmt.date(b)}"
                        for a, b in zip(picked["close_date_start"], picked["close_date_end"], strict=True)
                    ],
                }
            )
        ),
        hide_index=True,
        width="stretch",
    )
