"""The Forecast page's two calls and their record: the rules' call beside the calibrated call
with each one's backtested error (forecast, forecast_backtest), the call and the weighted
pipeline on each day of the period against the target (forecast_trend), and both calls on
the first day of every closed period against what closed (forecast_backtest).

The marts decide every number; this module only picks the scope and writes them in words.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import tracking, url_state
from dashboard.served import ServedWarehouse

TABLES = ("marts.forecast_trend", "marts.forecast_backtest")
METHODS = {"rules": "The rules' call", "calibrated": "Calibrated call"}
PERIOD_NAMES = {"month": "month", "quarter": "quarter"}
TREND_SERIES = {
    "call_amount": "The call",
    "weighted_pipeline_amount": "Weighted pipeline",
}


def fetch(db: ServedWarehouse) -> dict[str, pd.DataFrame]:
    return {
        "trend": db.frame("select * from marts.forecast_trend order by period_type, snapshot_date"),
        "backtest": db.frame("select * from marts.forecast_backtest order by period_type, period_start"),
    }


def method_record(backtest: pd.DataFrame, period_type: str, method: str) -> dict[str, object] | None:
    """MAPE, bias and how many closed periods they cover, for one method at one scope."""
    rows = backtest[(backtest["period_type"] == period_type) & (backtest["method"] == method)]
    if rows.empty or rows["mape"].isna().all():
        return None
    row = rows.dropna(subset=["mape"]).iloc[-1]
    return {"mape": row.mape, "bias": row.bias, "periods": row.error_period_count}


def record_text(record: dict[str, object] | None, period_type: str) -> str:
    """'missed by 21% on average over 12 closed months, running 7% low' or why it is unknown."""
    if record is None:
        return f"no closed {period_type} with a win to score it on yet"
    bias = record["bias"]
    lean = ""
    if not fmt.is_missing(bias) and abs(float(bias)) >= 0.005:
        lean = f", running {fmt.share(abs(float(bias)))} {'high' if float(bias) > 0 else 'low'}"
    periods = fmt.plural(record["periods"], f"closed {period_type}")
    return f"missed by {fmt.share(record['mape'])} on average over {periods}{lean}"


def closer_method(records: dict[str, dict[str, object] | None]) -> str | None:
    """The method with the smaller MAPE, when both are scored and they differ."""
    scored = {m: r for m, r in records.items() if r is not None and not fmt.is_missing(r["mape"])}
    if len(scored) < 2:
        return None
    rules, calibrated = float(scored["rules"]["mape"]), float(scored["calibrated"]["mape"])
    if abs(rules - calibrated) < 0.005:
        return None
    return "calibrated" if calibrated < rules else "rules"


def render_calls(
    frames: kit.Frames,
    rows: pd.DataFrame,
    level: str,
    value: str | None,
    label: str,
    best_case_weight: float | None = None,
) -> None:
    """The two calls for every period shown above, each with its record on our own history.

    `best_case_weight`: the weight the forecast mart applied to best case (None: unknown here)."""
    backtest = kit.rows_for_scope(frames["backtest"], level, value)
    st.subheader("Two calls, and how good each has been")
    table: dict[str, list[str]] = {}
    sentences = []
    for row in rows.itertuples():
        period = fmt.period_label(row.period_type, row.period_start)
        records = {m: method_record(backtest, row.period_type, m) for m in METHODS}
        calibrated = (
            fmt.money(row.calibrated_call_amount)
            if not fmt.is_missing(row.calibrated_call_amount)
            else "unknown (no stage history to learn from)"
        )
        table[period] = [
            fmt.money(row.call_amount),
            record_text(records["rules"], row.period_type),
            calibrated,
            record_text(records["calibrated"], row.period_type),
        ]
        if row.period_offset == "current":
            closer = closer_method(records)
            if closer is not None:
                sentences.append(
                    f"On past {row.period_type}s **{METHODS[closer].lower()}** was closer to what closed "
                    f"(this {row.period_type}: **{kit.md(fmt.money(row.calibrated_call_amount if closer == 'calibrated' else row.call_amount))}**)."
                )
    if not table:
        return
    st.markdown(
        "The rules' call counts committed deals at face value and best case "
        + ("at its weight" if best_case_weight is None else f"at {fmt.share(best_case_weight)}")
        + ". The calibrated call "
        "weights each bucket by what it has turned into on our own history, at the same point of past "
        "periods. " + " ".join(sentences)
    )
    st.table(
        pd.DataFrame(
            table,
            index=[
                "The rules' call (closed + committed + "
                + (
                    "weighted best case)"
                    if best_case_weight is None
                    else f"{fmt.share(best_case_weight)} of best case)"
                ),
                "Its record (first-day call vs closed won)",
                "Calibrated call (closed + each bucket × its past conversion)",
                "Its record",
            ],
        )
    )


def render_trend(frames: kit.Frames, level: str, value: str | None, label: str) -> None:
    """The call and the weighted pipeline on each day of the current month or quarter."""
    trend = kit.rows_for_scope(frames["trend"], level, value)
    st.subheader("What we said each day")
    url_state.initial("forecast_trend_period", "period", ["month", "quarter"])
    period_type = st.radio(
        "Period",
        ["month", "quarter"],
        horizontal=True,
        key="forecast_trend_period",
        format_func=lambda p: {"month": "This month", "quarter": "This quarter"}[p],
    )
    url_state.keep(period=period_type)
    rows = trend[trend["period_type"] == period_type].sort_values("snapshot_date")
    if rows.empty:
        kit.empty(f"No day of this {period_type} has a snapshot for {label} yet.")
        return
    if rows["call_amount"].isna().all():
        reason = rows["unknown_reason"].dropna()
        why = tracking.not_tracked(reason.iloc[0]) if not reason.empty else "unknown"
        kit.empty(f"The trend is unknown for {label}: {kit.md(why)}.")
        return
    first, last = rows.iloc[0], rows.iloc[-1]
    change = last.call_amount - first.call_amount
    st.markdown(
        f"The call went from **{kit.md(fmt.money(first.call_amount))}** on {fmt.short_date(first.snapshot_date)} "
        f"to **{kit.md(fmt.money(last.call_amount))}** today "
        f"({'up' if change >= 0 else 'down'} {kit.md(fmt.money(abs(change)))})"
        + (
            f", against a target of **{kit.md(fmt.money(last.target_amount))}**."
            if not fmt.is_missing(last.target_amount) and last.target_amount > 0
            else "."
        )
    )
    kit.chart(trend_chart(rows))


def trend_chart(rows: pd.DataFrame) -> alt.LayerChart:
    long = rows.melt(
        id_vars=["snapshot_date"], value_vars=list(TREND_SERIES), var_name="series", value_name="amount"
    )
    long["series"] = long["series"].map(TREND_SERIES)
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("snapshot_date:T", title=None, axis=alt.Axis(format="%b %d")),
            y=alt.Y("amount:Q", axis=kit.money_axis("Amount")),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=list(TREND_SERIES.values()), range=["#1f4e79", "#e67e22"]),
            ),
            tooltip=[
                alt.Tooltip("snapshot_date:T", title="Day"),
                "series:N",
                alt.Tooltip("amount:Q", format="$,.0f"),
            ],
        )
    )
    targets = rows.dropna(subset=["target_amount"]).tail(1)
    if targets.empty or not (targets["target_amount"] > 0).any():
        return lines.properties(height=280)
    target = (
        alt.Chart(targets)
        .mark_rule(color="black", strokeDash=[6, 4])
        .encode(y="target_amount:Q", tooltip=[alt.Tooltip("target_amount:Q", title="Target", format="$,.0f")])
    )
    return (lines + target).properties(
        height=280, title="The call and the weighted pipeline vs target (dashed)"
    )


def history_rows(backtest: pd.DataFrame, period_type: str) -> pd.DataFrame:
    """Both calls on the first day of each closed period, and closed won, as one long frame."""
    rows = backtest[backtest["period_type"] == period_type]
    calls = rows[["period_start", "method", "forecast_amount"]].rename(columns={"forecast_amount": "amount"})
    calls["series"] = calls["method"].map(
        {"rules": "The rules' call on day 1", "calibrated": "Calibrated call on day 1"}
    )
    actual = (
        rows[rows["method"] == "rules"][["period_start", "actual_amount"]]
        .rename(columns={"actual_amount": "amount"})
        .assign(series="Closed won")
    )
    return pd.concat([calls[["period_start", "series", "amount"]], actual], ignore_index=True)


def history_chart(rows: pd.DataFrame) -> alt.Chart:
    domain = ["The rules' call on day 1", "Calibrated call on day 1", "Closed won"]
    return (
        alt.Chart(rows, title="Both calls on the first day vs what closed")
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title=None),
            y=alt.Y("amount:Q", axis=kit.money_axis("Amount")),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=domain, range=["#2e86c1", "#8e44ad", "#1e8449"]),
            ),
            tooltip=[
                alt.Tooltip("period_start:T", title="Period"),
                "series:N",
                alt.Tooltip("amount:Q", format="$,.0f"),
            ],
        )
        .properties(height=280)
    )
