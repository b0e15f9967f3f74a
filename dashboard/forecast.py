"""Forecast: will we hit the number this month and quarter, and how good were our past calls.

Reads forecast (buckets, slipped deals, coverage and weighted pipeline for the current and
next month and quarter, per owner, team and company), pipeline_waterfall and its deals (how
the pipeline moved, dashboard/waterfall_section.py), forecast_accuracy (the forecast taken on the
first day of each closed period against what closed), revops_health (the healthy
variance band) and dim_reps.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import forecast_calls, tracking, waterfall_section
from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard.served import ServedWarehouse

TABLES = (
    "marts.forecast",
    "marts.forecast_accuracy",
    "marts.revops_health",
    "marts.dim_reps",
    *waterfall_section.TABLES,
    *forecast_calls.TABLES,
)
BUCKETS = {
    "closed_won_amount": "Closed won",
    "committed_amount": "Committed",
    "best_case_weighted_amount": "Best case (weighted)",
}
BUCKET_COLORS = ["#1f4e79", "#2e86c1", "#aed6f1"]


def fetch(db: ServedWarehouse) -> kit.Frames:
    return {
        "reps": db.frame("select owner_id, name, team from marts.dim_reps"),
        "forecast": db.frame("select * from marts.forecast"),
        "accuracy": db.frame("select * from marts.forecast_accuracy order by period_start"),
        "bands": kit.fetch_bands(db),
        "coverage": tracking.fetch(db),
        **waterfall_section.fetch(db),
        **forecast_calls.fetch(db),
    }


def period_title(period_type: str, offset: str, start: object) -> str:
    which = "This" if offset == "current" else "Next"
    return f"{which} {period_type} ({fmt.period_label(period_type, start)})"


def ordered_periods(rows: pd.DataFrame) -> pd.DataFrame:
    order = {("month", "current"): 0, ("month", "next"): 1, ("quarter", "current"): 2, ("quarter", "next"): 3}
    rows = rows.assign(
        _order=[order.get((t, o), 9) for t, o in zip(rows["period_type"], rows["period_offset"])]
    )
    return rows.sort_values(["_order", "period_start"]).drop(columns="_order")


def has_target(row) -> bool:
    status = getattr(row, "target_status", None)
    if status is not None and not fmt.is_missing(status):
        return status == "has_target"
    return not fmt.is_missing(row.target_amount) and row.target_amount > 0


def no_target_text(quotas_untracked: bool) -> str:
    """What a target, a coverage or a gap reads as without a target."""
    return "quotas " + tracking.NOT_TRACKED if quotas_untracked else "no target set"


def best_case_weight(forecast: pd.DataFrame) -> float | None:
    """best_case_weight as the forecast mart applied it (weighted ÷ face value of best case), or
    None when no row has a best case to tell: the var is not in the mart, its effect is."""
    rows = forecast[forecast["best_case_amount"].fillna(0) > 0]
    if rows.empty:
        return None
    return float(rows["best_case_weighted_amount"].sum() / rows["best_case_amount"].sum())


def best_case_words(weight: float | None) -> str:
    return "best case (weighted)" if weight is None else f"best case at {fmt.share(weight)}"


def coverage_band_text(low: float | None, high: float | None) -> str:
    """revops_health's pipeline_coverage band (coverage_healthy_min/_max): "healthy 2.5–3x"."""
    if low is not None and high is not None:
        return f"healthy {low:g}–{high:g}x"
    if low is not None:
        return f"healthy from {low:g}x"
    if high is not None:
        return f"healthy up to {high:g}x"
    return "no healthy band in revops_health"


def bucket_table(
    rows: pd.DataFrame,
    quotas_untracked: bool = False,
    weight: float | None = None,
    coverage_band: str = "",
) -> pd.DataFrame:
    """Buckets as rows, periods as columns, every value already written for people."""
    columns = {}
    for row in rows.itertuples():
        best = f"{fmt.money(row.best_case_weighted_amount)} of {fmt.money(row.best_case_amount)}"
        targeted = has_target(row)
        none = "not tracked (no quotas)" if quotas_untracked else "no target set"

        def against_target(value, formatter):
            return formatter(value) if targeted else none

        columns[fmt.period_label(row.period_type, row.period_start)] = [
            fmt.money(row.target_amount) if targeted else no_target_text(quotas_untracked),
            fmt.money(row.closed_won_amount),
            fmt.money(row.committed_amount),
            best,
            fmt.money(row.call_amount),
            fmt.money(row.weighted_pipeline_amount),
            f"{fmt.money(row.open_pipeline_amount)} in {fmt.count(row.open_deal_count)} deals",
            f"{fmt.money(row.slipped_amount)} in {fmt.count(row.slipped_count)} deals",
            against_target(row.coverage_ratio, fmt.ratio),
            against_target(row.remaining_coverage_ratio, fmt.ratio),
            against_target(row.gap_to_target_amount, fmt.money),
        ]
    by_category = "committed_basis" in rows and (rows["committed_basis"] == "forecast_category").any()
    index = [
        "Target",
        "Closed won",
        "Committed (the CRM's Commit category)" if by_category else "Committed",
        "Best case (weighted)" if weight is None else f"Best case ({fmt.share(weight)} of face value)",
        "The call (closed + committed + best case)",
        "Weighted pipeline (calibrated probabilities)",
        "Open pipeline",
        "Slipped (close date passed: in no bucket)",
        f"Coverage ({coverage_band})" if coverage_band else "Coverage",
        "Coverage of what is left to win",
        "Gap to target (negative: beaten)",
    ]
    return pd.DataFrame(columns, index=index)


def forecast_chart(rows: pd.DataFrame) -> alt.LayerChart:
    frame = rows.assign(period=[fmt.period_label(r.period_type, r.period_start) for r in rows.itertuples()])
    order = list(frame["period"])
    stacked = frame.melt(id_vars=["period"], value_vars=list(BUCKETS), var_name="bucket", value_name="amount")
    stacked["bucket"] = stacked["bucket"].map(BUCKETS)
    stacked["bucket_order"] = stacked["bucket"].map({v: i for i, v in enumerate(BUCKETS.values())})
    bars = (
        alt.Chart(stacked)
        .mark_bar(size=46)
        .encode(
            x=alt.X("period:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(amount):Q", axis=kit.money_axis("Amount"), stack="zero"),
            color=alt.Color(
                "bucket:N", scale=alt.Scale(domain=list(BUCKETS.values()), range=BUCKET_COLORS), title=None
            ),
            order=alt.Order("bucket_order:Q"),
            tooltip=["period:N", "bucket:N", alt.Tooltip("amount:Q", format="$,.0f")],
        )
    )
    targets = frame[frame["target_amount"] > 0]
    target = (
        alt.Chart(targets)
        .mark_tick(color="black", thickness=3, size=60)
        .encode(
            x=alt.X("period:N", sort=order),
            y="target_amount:Q",
            tooltip=["period:N", alt.Tooltip("target_amount:Q", title="Target", format="$,.0f")],
        )
    )
    weighted = (
        alt.Chart(frame)
        .mark_point(shape="diamond", size=120, filled=True, color="#e67e22")
        .encode(
            x=alt.X("period:N", sort=order),
            y="weighted_pipeline_amount:Q",
            tooltip=[
                "period:N",
                alt.Tooltip("weighted_pipeline_amount:Q", title="Weighted pipeline", format="$,.0f"),
            ],
        )
    )
    return (bars + target + weighted).properties(
        height=300, title="Forecast buckets vs target (black tick) and weighted pipeline (orange diamond)"
    )


def accuracy_rows(accuracy: pd.DataFrame, level: str, value: str | None, reps: pd.DataFrame) -> pd.DataFrame:
    """Company, one rep, or a team as the sum of its reps (forecasts and actuals both add up)."""
    if level == "company":
        return accuracy[accuracy["rollup_level"] == "company"]
    if level == "owner":
        return accuracy[(accuracy["rollup_level"] == "owner") & (accuracy["owner_id"] == value)]
    members = set(reps.loc[reps["team"] == value, "owner_id"])
    owners = accuracy[(accuracy["rollup_level"] == "owner") & accuracy["owner_id"].isin(members)]
    if owners.empty:
        return owners
    summed = owners.groupby(["period_type", "period_start", "period_end"], as_index=False).agg(
        forecast_amount=("forecast_amount", "sum"),
        actual_amount=("actual_amount", "sum"),
        forecast_basis=("forecast_basis", "first"),
    )
    actual = summed["actual_amount"].where(summed["actual_amount"] != 0)
    summed["variance_rate"] = (summed["forecast_amount"] - actual) / actual
    return summed


def accuracy_charts(rows: pd.DataFrame, band: float | None) -> tuple[alt.Chart, alt.Chart | alt.LayerChart]:
    amounts = rows.melt(
        id_vars=["period_start"],
        value_vars=["forecast_amount", "actual_amount"],
        var_name="series",
        value_name="amount",
    )
    amounts["series"] = amounts["series"].map(
        {"forecast_amount": "Forecast on day 1", "actual_amount": "Closed won"}
    )
    lines = (
        alt.Chart(amounts, title="Forecast on the first day vs what closed")
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title=None),
            y=alt.Y("amount:Q", axis=kit.money_axis("Amount")),
            color=alt.Color("series:N", title=None, scale=alt.Scale(range=["#2e86c1", "#1e8449"])),
            tooltip=[
                alt.Tooltip("period_start:T", title="Period"),
                "series:N",
                alt.Tooltip("amount:Q", format="$,.0f"),
            ],
        )
        .properties(height=280)
    )
    variance = rows.dropna(subset=["variance_rate"])
    title = "Forecast variance ((forecast − actual) ÷ actual)"
    tooltip = [alt.Tooltip("period_start:T", title="Period"), alt.Tooltip("variance_rate:Q", format="+.1%")]
    x, y = alt.X("period_start:T", title=None), alt.Y("variance_rate:Q", axis=kit.share_axis("Variance"))
    if band is None:  # no healthy band to judge by: one colour, no edges
        return lines, alt.Chart(variance, title=title).mark_bar(color="#2e86c1").encode(
            x=x, y=y, tooltip=tooltip
        ).properties(height=280)
    inside, outside = f"Within ±{fmt.share(band)}", f"Outside ±{fmt.share(band)}"
    variance = variance.assign(
        within=[inside if abs(v) <= band + 1e-12 else outside for v in variance["variance_rate"]]
    )
    bars = (
        alt.Chart(variance, title=title)
        .mark_bar()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "within:N",
                title=None,
                scale=alt.Scale(domain=[inside, outside], range=["#2e9d5b", "#d64541"]),
            ),
            tooltip=tooltip,
        )
    )
    rules = (
        alt.Chart(pd.DataFrame({"edge": [-band, band]}))
        .mark_rule(color="gray", strokeDash=[4, 4])
        .encode(y="edge:Q")
    )
    return lines, (bars + rules).properties(height=280)


def render() -> None:
    frames = kit.load(fetch, TABLES)
    if frames is None:
        kit.page_header("Forecast", "Will we hit the number?")
        return
    reps, forecast = frames["reps"], frames["forecast"]
    tr = tracking.load(frames)
    quotas_untracked = tr.untracked("quotas")
    as_of = forecast["as_of_date"].iloc[0] if not forecast.empty else None
    kit.page_header("Forecast", "Will we hit the month and the quarter, and how good were our calls?", as_of)
    tr.notice(("quotas", "next_step_date", "history"))

    owners = forecast.loc[forecast["rollup_level"] == "owner", "owner_id"].dropna().unique()
    teams = forecast.loc[forecast["rollup_level"] == "team", "team"].dropna().unique()
    level, value, label = kit.scope_picker(reps, owners, teams, key="forecast")

    rows = ordered_periods(kit.rows_for_scope(forecast, level, value))
    st.subheader(f"Forecast for {label}")
    if rows.empty:
        kit.empty(f"No deals and no target for {label} in the current or next month or quarter.")
    else:
        weight = best_case_weight(forecast)
        coverage_band = coverage_band_text(*kit.band(frames["bands"], "pipeline_coverage"))
        _call_cards(rows, quotas_untracked, weight)
        _coverage_line(rows, quotas_untracked, coverage_band)
        if "committed_basis" in rows and (rows["committed_basis"] == "forecast_category").any():
            st.caption(
                "Committed = deals the CRM forecasts as Commit (next-step dates not tracked): without a "
                "dated next step the warehouse cannot apply its own commit rules."
            )
        kit.chart(forecast_chart(rows))
        st.table(bucket_table(rows, quotas_untracked, weight, coverage_band))
        forecast_calls.render_calls(frames, rows, level, value, label, weight)

    forecast_calls.render_trend(frames, level, value, label)

    waterfall_section.render(frames, level, value, label, reps)

    _accuracy_section(frames, level, value, label)


def _call_cards(rows: pd.DataFrame, quotas_untracked: bool, weight: float | None) -> None:
    """One card per period: the call, and how far it is from the target."""
    for col, row in zip(st.columns(len(rows)), rows.itertuples()):
        targeted = has_target(row)
        col.metric(
            period_title(row.period_type, row.period_offset, row.period_start),
            fmt.money(row.call_amount),
            delta=f"{fmt.signed_share(row.call_amount / row.target_amount - 1, 0)} vs target"
            if targeted
            else None,
            help=kit.md(
                f"The call = closed won + committed + {best_case_words(weight)}; slipped deals (close date "
                "passed) are in no bucket. Target: "
                + (fmt.money(row.target_amount) if targeted else no_target_text(quotas_untracked))
            ),
            border=True,
        )


def _coverage_line(rows: pd.DataFrame, quotas_untracked: bool, coverage_band: str) -> None:
    coverage_bits = []
    any_target = any(has_target(row) for row in rows.itertuples())
    for row in rows.itertuples():
        label_ = fmt.period_label(row.period_type, row.period_start)
        weighted = f"weighted pipeline **{kit.md(fmt.money(row.weighted_pipeline_amount))}**"
        if not any_target:
            coverage_bits.append(f"{label_}: {weighted}")
            continue
        coverage = f"**{fmt.ratio(row.coverage_ratio)}**" if has_target(row) else "*no target set*"
        coverage_bits.append(f"{label_}: coverage {coverage}, {weighted}")
    if any_target:
        st.markdown(" · ".join(coverage_bits) + f" ({kit.md(coverage_band)})")
    else:
        st.markdown(
            f"Coverage: *{no_target_text(quotas_untracked)}*, so there is no target to cover. "
            + " · ".join(coverage_bits)
        )


def _accuracy_section(frames: kit.Frames, level: str, value: str | None, label: str) -> None:
    """Each closed period's first-day forecast against what closed, judged by revops_health's
    forecast_variance band (forecast_variance_healthy_rate)."""
    st.subheader("Forecast accuracy")
    period_type = st.radio(
        "Periods",
        ["month", "quarter"],
        horizontal=True,
        key="forecast_accuracy_period",
        format_func=lambda p: {"month": "Months", "quarter": "Quarters"}[p],
    )
    band = kit.band(frames["bands"], "forecast_variance")[1]
    history = accuracy_rows(frames["accuracy"], level, value, frames["reps"])
    history = history[history["period_type"] == period_type].sort_values("period_start")
    reasons = history["unknown_reason"].dropna().unique() if "unknown_reason" in history else []
    if len(reasons) and history["forecast_amount"].isna().all():
        kit.empty(
            f"Forecast accuracy is unknown for {label}: {kit.md(tracking.not_tracked(reasons[0]))}. "
            "The forecast made on a period's first day is rebuilt from the CRM's history."
        )
        return
    history = history[(history["forecast_amount"].fillna(0) != 0) | (history["actual_amount"].fillna(0) != 0)]
    if history.empty:
        kit.empty(f"No closed {period_type}s with a forecast or a win for {label} yet.")
        return
    scored = history.dropna(subset=["variance_rate"])
    latest = history.iloc[-1]
    if band is None:
        judged = (
            f"No healthy band for the variance in revops_health: {len(scored)} closed {period_type}s scored. "
        )
    else:
        within = int((scored["variance_rate"].abs() <= band + 1e-12).sum())
        judged = f"Within ±{fmt.share(band)} in **{within} of {len(scored)}** closed {period_type}s. "
    st.markdown(
        judged + f"Latest, {fmt.period_label(period_type, latest.period_start)}: forecast "
        f"**{kit.md(fmt.money(latest.forecast_amount))}** vs closed won **{kit.md(fmt.money(latest.actual_amount))}**, "
        f"variance **{fmt.signed_share(latest.variance_rate)}**."
    )
    lines, variance = accuracy_charts(history, band)
    both_calls = forecast_calls.history_rows(
        kit.rows_for_scope(frames["backtest"], level, value), period_type
    )
    if not both_calls.empty and both_calls["amount"].notna().any():
        lines = forecast_calls.history_chart(both_calls)
    left, right = st.columns(2)
    with left:
        kit.chart(lines)
    with right:
        if scored.empty:
            kit.empty("Nothing was won in these periods, so there is no variance to show.")
        else:
            kit.chart(variance)
    if "forecast_basis" in history and history["forecast_basis"].nunique() > 0:
        captured = history[history["forecast_basis"] == "captured_next_steps"]
        if captured.empty:
            st.caption(
                "Every forecast here comes from the CRM's forecast-category history (Commit → committed, "
                "Best Case → best case): next steps are captured from the project's first run on."
            )
        else:
            st.caption(
                f"Forecasts from {fmt.period_label(period_type, captured['period_start'].min())} on use the captured "
                "next steps; earlier ones the CRM's forecast-category history."
            )
