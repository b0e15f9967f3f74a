"""Run-Rate HUD: are we on pace this month, quarter and year — for the company, a team or a rep.

Reads run_rate (closed won to date vs target, the share of the period's business days
elapsed, pacing, the projection) and dim_reps.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import tracking, url_state
from dashboard.served import ServedWarehouse

TABLES = ("marts.run_rate", "marts.dim_reps")
PERIODS = {"MTD": "Month to date", "QTD": "Quarter to date", "YTD": "Year to date"}
STATUS = {
    "on_track": ("On track", "green"),
    "at_risk": ("At risk", "orange"),
    "behind": ("Behind", "red"),
    "no_target": ("No target", "gray"),
    "too_early": ("Too early to grade", "gray"),
}
# projected_status: where closed + committed + best case weighted lands against the target
PROJECTED = {
    "will_hit": ("Will hit", "green"),
    "at_risk": ("At risk", "orange"),
    "will_miss": ("Will miss", "red"),
    "no_target": ("No target", "gray"),
}


def fetch(db: ServedWarehouse) -> kit.Frames:
    return {
        "reps": db.frame("select owner_id, name, team from marts.dim_reps"),
        "run_rate": db.frame("select * from marts.run_rate"),
        "coverage": tracking.fetch(db),
    }


def status_label(status: object, quotas_untracked: bool = False) -> tuple[str, str]:
    if quotas_untracked and str(status) == "no_target":
        return ("Quotas not tracked", "gray")
    return STATUS.get(str(status), (str(status).replace("_", " ").capitalize(), "gray"))


def period_card(row: Any, tr: tracking.Tracking) -> None:
    quotas_untracked = tr.untracked("quotas")
    label, color = status_label(row.pace_status, quotas_untracked)
    projected_label, projected_color = PROJECTED.get(str(row.projected_status), ("Unknown", "gray"))
    st.markdown(
        f"**{PERIODS.get(row.period, row.period)}** :{color}-badge[Pace: {label}] "
        f":{projected_color}-badge[Projected: {projected_label}]"
    )
    st.caption(
        f"{fmt.date(row.period_start)} – {fmt.date(row.period_end)} · "
        f"{fmt.count(row.elapsed_business_days)} of {fmt.count(row.period_business_days)} business days "
        f"({fmt.share(row.expected_share)})"
    )
    has_target = not fmt.is_missing(row.target_amount) and float(row.target_amount) > 0
    pace = None if fmt.is_missing(row.pacing_rate) else float(row.pacing_rate)
    too_early = str(row.pace_status) == "too_early"
    st.metric(
        "Closed won",
        fmt.money(row.closed_won_amount),
        delta=None if pace is None or too_early else f"{fmt.signed_share(pace - 1, 0)} vs pace",
        help="Won deals with a close date from the period's start to today",
    )
    if too_early:
        st.caption(
            f"Too early to grade the pace: {fmt.plural(row.elapsed_business_days, 'business day')} of "
            f"{fmt.count(row.period_business_days)} have passed (run_rate grades from the 3rd)."
        )
    if not has_target:
        why = (
            f"Target: {tracking.NOT_TRACKED} (no quotas)"
            if quotas_untracked
            else "No target set for this period"
        )
        st.markdown(f"{why} · projected **{kit.md(fmt.money(row.projected_amount))}**")
        return
    expected = float(row.target_amount) * float(row.expected_share or 0)
    st.markdown(
        f"Target **{kit.md(fmt.money(row.target_amount))}** · expected by today "
        f"**{kit.md(fmt.money(expected))}**  \n"
        f"Pacing **{fmt.share(pace)}** · projected **{kit.md(fmt.money(row.projected_amount))}** "
        f"({fmt.share(row.projected_attainment_rate)} of target)"
    )


AXIS_CAP = 2.0  # a share-of-target axis stops at 200%: a rep at 372% would squash everyone else


def axis_end(*values: pd.Series) -> float:
    """Where a share-of-target axis ends: past 100% and the largest value, at most AXIS_CAP."""
    largest = max([1.0, *(float(v.max()) for v in values if not v.dropna().empty)])
    return min(AXIS_CAP, round(largest * 1.1 + 0.05, 1))


def share_scale(end: float) -> alt.Scale:
    return alt.Scale(domain=[0, end], clamp=True, nice=False)


def readable_share_axis(title: str, end: float) -> alt.Axis:
    step = 0.25 if end <= 1.5 else 0.5
    ticks = [round(i * step, 2) for i in range(int(end / step) + 1)]
    return alt.Axis(format=".0%", title=title, values=ticks, grid=True)


def pacing_chart(rows: pd.DataFrame) -> alt.LayerChart | None:
    """Each period against its own target: closed, projected and where today's pace line is."""
    rows = rows[rows["target_amount"].fillna(0) > 0]
    if rows.empty:
        return None
    frame = pd.DataFrame(
        {
            "period": [PERIODS.get(p, p) for p in rows["period"]],
            "closed": rows["closed_won_amount"] / rows["target_amount"],
            "projected": rows["projected_amount"] / rows["target_amount"],
            "expected": rows["expected_share"],
            "closed_amount": rows["closed_won_amount"],
            "projected_amount": rows["projected_amount"],
            "target_amount": rows["target_amount"],
        }
    )
    order = list(PERIODS.values())
    y = alt.Y("period:N", sort=order, title=None)
    tooltip = [
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("closed_amount:Q", title="Closed won", format="$,.0f"),
        alt.Tooltip("target_amount:Q", title="Target", format="$,.0f"),
        alt.Tooltip("projected_amount:Q", title="Projected", format="$,.0f"),
        alt.Tooltip("expected:Q", title="Expected share by today", format=".0%"),
    ]
    end = axis_end(frame["closed"], frame["projected"], frame["expected"])
    frame["beyond"] = [fmt.share(v) + " →" if v > end else "" for v in frame["projected"]]
    base = alt.Chart(frame)
    x = alt.X("projected:Q", axis=readable_share_axis("Share of target", end), scale=share_scale(end))
    projected = base.mark_bar(color="#b9d3ee", size=26).encode(x=x, y=y, tooltip=tooltip)
    closed = base.mark_bar(color="#1f77b4", size=14).encode(
        x=alt.X("closed:Q", scale=share_scale(end)), y=y, tooltip=tooltip
    )
    expected = base.mark_tick(color="black", thickness=3, size=30).encode(
        x=alt.X("expected:Q", scale=share_scale(end)), y=y, tooltip=tooltip
    )
    beyond = (
        base.mark_text(align="right", dx=-6, fontWeight="bold")
        .encode(x=alt.X("cap:Q", scale=share_scale(end)), y=y, text="beyond:N")
        .transform_calculate(cap=str(end))
    )
    target = (
        alt.Chart(pd.DataFrame({"target": [1.0]}))
        .mark_rule(color="gray", strokeDash=[4, 4])
        .encode(x="target:Q")
    )
    return (projected + closed + expected + target + beyond).properties(
        height=190, title="Closed won (dark), projected (light) and today's pace (tick) as a share of target"
    )


def breakdown(
    rate: pd.DataFrame,
    reps: pd.DataFrame,
    level: str,
    value: str | None,
    period: str,
    quotas_untracked: bool = False,
) -> pd.DataFrame:
    """Who is on pace inside the scope: teams and reps of the company, reps of a team."""
    rows = rate[rate["period"] == period]
    names = kit.rep_names(reps)
    if level == "company":
        rows = rows[rows["rollup_level"].isin(["team", "owner"])]
    elif level == "team":
        rows = rows[(rows["rollup_level"] == "owner") & (rows["team"] == value)]
    else:
        return rows.iloc[0:0]
    return pd.DataFrame(
        {
            "Who": [
                kit.name_of(names, r.owner_id) if r.rollup_level == "owner" else f"Team {r.team}"
                for r in rows.itertuples()
            ],
            "Level": rows["rollup_level"].map({"owner": "Rep", "team": "Team"}),
            "Target": rows["target_amount"],
            "Closed won": rows["closed_won_amount"],
            "Pacing": rows["pacing_rate"],
            "Projected": rows["projected_amount"],
            "Projected attainment": rows["projected_attainment_rate"],
            "Status": [status_label(s, quotas_untracked)[0] for s in rows["pace_status"]],
            "Projected status": [
                PROJECTED.get(str(s), ("Unknown", "gray"))[0] for s in rows["projected_status"]
            ],
        }
    ).sort_values(["Level", "Pacing"], ascending=[False, False], na_position="last")


def breakdown_chart(table: pd.DataFrame) -> alt.LayerChart:
    colors = {label: color for label, color in STATUS.values()}
    colors["Quotas not tracked"] = "gray"
    scale = alt.Scale(
        domain=list(colors), range=["#2e9d5b", "#f0a30a", "#d64541", "#999999", "#bbbbbb", "#bbbbbb"]
    )
    frame = table.dropna(subset=["Pacing"])
    end = axis_end(frame["Pacing"])
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "Pacing:Q",
                axis=readable_share_axis(
                    f"Pacing (100% = exactly on pace; axis ends at {fmt.share(end)})", end
                ),
                scale=share_scale(end),
            ),
            y=alt.Y("Who:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("Status:N", scale=scale),
            tooltip=[
                "Who:N",
                alt.Tooltip("Pacing:Q", format=".0%"),
                alt.Tooltip("Closed won:Q", format="$,.0f"),
                alt.Tooltip("Target:Q", format="$,.0f"),
                "Status:N",
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"pace": [1.0]}))
        .mark_rule(color="black", strokeDash=[4, 4])
        .encode(x="pace:Q")
    )
    return (bars + rule).properties(height=max(160, 24 * len(frame)))


BREAKDOWN_COLUMNS = {
    "Target": st.column_config.NumberColumn(format="dollar", step=1),
    "Closed won": st.column_config.NumberColumn(format="dollar", step=1),
    "Projected": st.column_config.NumberColumn(format="dollar", step=1),
    "Pacing": fmt.percent_column(),
    "Projected attainment": fmt.percent_column(),
}


def render() -> None:
    frames = kit.load(fetch, TABLES)
    if frames is None:
        kit.page_header("Run-Rate HUD", "Are we on pace?")
        return
    reps, rate = frames["reps"], frames["run_rate"]
    tr = tracking.load(frames)
    if rate.empty:
        kit.page_header("Run-Rate HUD", "Are we on pace?")
        kit.empty("The run_rate mart is empty: no targets and no closed deals this year.")
        return
    kit.page_header(
        "Run-Rate HUD", "Are we on pace this month, quarter and year?", rate["as_of_date"].iloc[0]
    )
    tr.notice(("quotas",))
    quotas_untracked = tr.untracked("quotas")

    owners = rate.loc[rate["rollup_level"] == "owner", "owner_id"].dropna().unique()
    teams = rate.loc[rate["rollup_level"] == "team", "team"].dropna().unique()
    level, value, label = kit.scope_picker(reps, owners, teams, key="hud")
    rows = kit.rows_for_scope(rate, level, value)
    if rows.empty:
        kit.empty(f"No run-rate rows for {label}: no target and nothing won this year.")
        return
    rows = rows.set_index("period").reindex([p for p in PERIODS if p in set(rows["period"])]).reset_index()

    st.subheader(f"Run rate for {label}")
    for col, row in zip(st.columns(len(rows)), rows.itertuples()):
        with col.container(border=True):
            period_card(row, tr)
    chart = pacing_chart(rows)
    if chart is None and quotas_untracked:
        kit.empty(
            f"Quotas are {tracking.NOT_TRACKED}, so there is no target to pace against: "
            "closed won and the projection above are what is known."
        )
    elif chart is None:
        kit.empty(f"No targets for {label}, so there is no pace to compare with.")
    else:
        kit.chart(chart)

    if level == "owner":
        return
    st.subheader("Who is on pace")
    if url_state.initial("hud_breakdown_period", "period", list(PERIODS)) or (
        "hud_breakdown_period" not in st.session_state
    ):
        st.session_state["hud_breakdown_period"] = "QTD"
    period = st.radio(
        "Period",
        list(PERIODS),
        horizontal=True,
        key="hud_breakdown_period",
        format_func=lambda p: PERIODS[p],
    )
    url_state.keep(period=period)
    table = breakdown(rate, reps, level, value, period, quotas_untracked)
    if table.empty:
        kit.empty(f"No reps or teams with run-rate rows in {label}.")
        return
    with_pace = table.dropna(subset=["Pacing"])
    if with_pace.empty and quotas_untracked:
        kit.empty(
            f"Quotas are {tracking.NOT_TRACKED}, so no one has a target to pace against; "
            "the table shows what each closed and is projected to close."
        )
    elif with_pace.empty:
        kit.empty("No one in this scope has a target for the period, so there is no pacing to chart.")
    else:
        kit.chart(breakdown_chart(with_pace))
    st.dataframe(
        fmt.neutralize_formulas(fmt.with_percent_points(table, ["Pacing", "Projected attainment"])),
        hide_index=True,
        column_config=BREAKDOWN_COLUMNS,
        width="stretch",
    )
