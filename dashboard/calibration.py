"""Calibration: when we said 30%, did 30% of those deals win, and whose probabilities
were closer to what happened, ours or the CRM's?

Reads probability_calibration: for the month starts of the last 12 months, the deals
open that day that have closed since, each with our calibrated stage probability
(learned only from the deals closed before that day) and the probability the CRM showed
that day; per stage and overall: reliability bins, Brier score and Brier skill score.
Written for a revenue leader: the Brier score is "the average miss", the skill score
"better or worse than just assuming the recent win rate".
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard.served import ServedWarehouse

TABLES = ("marts.probability_calibration",)
SOURCES = {"calibrated": "Our probabilities", "crm": "The CRM's probabilities"}
SOURCE_COLORS = {"calibrated": "#1f77b4", "crm": "#e67e22"}
ALL_STAGES = "All stages"


def fetch(db: ServedWarehouse) -> kit.Frames:
    return {
        "calibration": db.frame(
            "select * from marts.probability_calibration order by stage_order nulls first, probability_source, bin"
        )
    }


def brier(value: object) -> str:
    """A Brier score for people: three decimals (0 is perfect, 0.25 is a coin flip at 50%)."""
    return fmt.MISSING if fmt.is_missing(value) else f"{float(value):.3f}"


def summary(frame: pd.DataFrame, stage: str, source: str) -> pd.Series | None:
    rows = frame[
        (frame["stage_name"] == stage) & (frame["probability_source"] == source) & (frame["bin"] == "all")
    ]
    return None if rows.empty else rows.iloc[0]


def is_ok(row: pd.Series | None) -> bool:
    return row is not None and row["status"] == "ok" and not fmt.is_missing(row["brier_score"])


def skill_words(skill: object) -> str:
    """The Brier skill score in words: how much smaller the miss was than the recent win rate's."""
    if fmt.is_missing(skill):
        return "no recent win rate to compare with"
    value = float(skill)
    if abs(value) < 0.0005:
        return "no better than assuming the recent win rate for every deal"
    direction = "better" if value > 0 else "worse"
    return f"{fmt.share(abs(value), 1)} {direction} than assuming the recent win rate for every deal"


def verdict(ours: pd.Series | None, crm: pd.Series | None) -> str:
    """One sentence: whose probabilities were closer to what happened, and by how much."""
    if not is_ok(ours):
        return "There is nothing to measure yet: no deal open on these month starts has closed since."
    if not is_ok(crm):
        return (
            f"Our probabilities missed by **{brier(ours['brier_score'])}** on average (Brier score); "
            "the CRM's cannot be compared."
        )
    mine, theirs = float(ours["brier_score"]), float(crm["brier_score"])
    if theirs > 0 and abs(mine - theirs) / theirs < 0.005:
        return (
            f"Our probabilities and the CRM's were about as close to what happened: an average miss "
            f"(Brier score) of **{brier(mine)}** against **{brier(theirs)}**."
        )
    closer, farther = (("Our probabilities", "the CRM's"), ("The CRM's probabilities", "ours"))[mine > theirs]
    low, high = sorted((mine, theirs))
    return (
        f"{closer} were closer to what happened than {farther}: an average miss (Brier score) of "
        f"**{brier(low)}** against **{brier(high)}**, {fmt.share((high - low) / high, 0)} smaller."
    )


def reliability_chart(bins: pd.DataFrame) -> alt.LayerChart:
    """Predicted (x) against observed (y) per bin, one line per source, and the diagonal."""
    frame = bins.assign(source=bins["probability_source"].map(SOURCES))
    diagonal = (
        alt.Chart(pd.DataFrame({"p": [0.0, 1.0]}))
        .mark_line(color="gray", strokeDash=[5, 5])
        .encode(x="p:Q", y="p:Q")
    )
    scale = alt.Scale(domain=[0, 1])
    color = alt.Color(
        "source:N",
        title=None,
        scale=alt.Scale(domain=list(SOURCES.values()), range=list(SOURCE_COLORS.values())),
        legend=alt.Legend(orient="bottom"),
    )
    base = alt.Chart(frame).encode(
        x=alt.X("mean_predicted:Q", scale=scale, axis=kit.share_axis("What the probability said")),
        y=alt.Y("observed_rate:Q", scale=scale, axis=kit.share_axis("What share actually won")),
        color=color,
        tooltip=[
            alt.Tooltip("source:N", title="Source"),
            alt.Tooltip("bin:N", title="Probability band"),
            alt.Tooltip("deal_count:Q", title="Deals", format=",d"),
            alt.Tooltip("mean_predicted:Q", title="Said", format=".0%"),
            alt.Tooltip("observed_rate:Q", title="Won", format=".0%"),
        ],
    )
    lines = base.mark_line()
    points = base.mark_circle(opacity=0.85).encode(
        size=alt.Size("deal_count:Q", title="Deals", scale=alt.Scale(range=[40, 600]), legend=None)
    )
    return (diagonal + lines + points).properties(
        height=380,
        title="Said vs happened: on the dashed line, 30% means 30% won (dot size: deals)",
    )


def stage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per stage: deals, the share won, each source's average probability and miss."""
    rows = []
    stages = frame[(frame["bin"] == "all") & (frame["stage_name"] != "all")]
    stages = stages.drop_duplicates("stage_name").sort_values("stage_order")
    for stage in [*stages["stage_name"], "all"]:
        ours, crm = summary(frame, stage, "calibrated"), summary(frame, stage, "crm")
        if ours is None:
            continue
        closer = fmt.MISSING
        if is_ok(ours) and is_ok(crm):
            closer = "ours" if ours["brier_score"] < crm["brier_score"] else "CRM"
            if ours["brier_score"] == crm["brier_score"]:
                closer = "even"

        def said(row: pd.Series | None) -> str:
            return fmt.share(row["mean_predicted"]) if is_ok(row) else fmt.MISSING

        def missed(row: pd.Series | None) -> str:
            if is_ok(row):
                return brier(row["brier_score"])
            return "not tracked" if row is not None and fmt.is_missing(row["deal_count"]) else fmt.MISSING

        rows.append(
            {
                "Stage on the month start": ALL_STAGES if stage == "all" else stage,
                "Deals": fmt.count(ours["deal_count"]),
                "Won": fmt.share(ours["observed_rate"]) if is_ok(ours) else fmt.MISSING,
                "We said": said(ours),
                "CRM said": said(crm),
                "Our miss (Brier)": missed(ours),
                "CRM's miss (Brier)": missed(crm),
                "Closer": closer,
            }
        )
    return pd.DataFrame(rows).set_index("Stage on the month start")


def render() -> None:
    frames = kit.load(fetch, TABLES)
    question = "When we said 30%, did 30% win? Our probabilities against the CRM's, on our own history."
    if frames is None:
        kit.page_header("Calibration", question)
        return
    frame = frames["calibration"]
    as_of = frame["as_of_date"].iloc[0] if not frame.empty else None
    kit.page_header("Calibration", question, as_of)
    if frame.empty:
        kit.empty("The calibration mart is empty: no stage map was published.")
        return

    first, last = frame["first_month_start"].iloc[0], frame["last_month_start"].iloc[0]
    ours, crm = summary(frame, "all", "calibrated"), summary(frame, "all", "crm")
    st.markdown(verdict(ours, crm))
    left, right = st.columns(2)
    for col, row, source in ((left, ours, "calibrated"), (right, crm, "crm")):
        if is_ok(row):
            col.metric(
                f"{SOURCES[source]}: average miss (Brier score)",
                brier(row["brier_score"]),
                help=(
                    "The average of (probability − outcome)², outcome 1 for won and 0 for lost: 0 is "
                    "perfect, 0.25 is what saying 50% for every deal scores. Lower is better."
                ),
                border=True,
            )
            skill = row["brier_skill_score"]
            score = "" if fmt.is_missing(skill) else f" (skill score {float(skill):+.3f})"
            col.caption(f"Skill: {skill_words(skill)}{score}.")
        else:
            reason = "unknown" if row is None else row["unknown_reason"]
            col.metric(f"{SOURCES[source]}: average miss (Brier score)", "unknown", border=True)
            col.caption(kit.md(str(reason).replace("this CRM", "your CRM")))

    st.subheader("Said vs happened")
    stages = frame[(frame["bin"] == "all") & (frame["stage_name"] != "all")].sort_values("stage_order")
    stage = st.selectbox(
        "Stage on the month start", [ALL_STAGES, *stages["stage_name"]], key="calibration_stage"
    )
    chosen = "all" if stage == ALL_STAGES else stage
    bins = frame[(frame["stage_name"] == chosen) & (frame["bin"] != "all") & (frame["status"] == "ok")]
    if bins.empty:
        kit.empty(f"No deal of {stage.lower() if chosen == 'all' else stage} was measured.")
    else:
        kit.chart(reliability_chart(bins))
        st.caption(
            "Each dot is a band of probabilities (0–10%, 10–20%, …): how high they said the chance was, "
            "and how many of those deals actually won. Dots above the dashed line: the probability was too "
            "pessimistic; below it: too optimistic."
        )

    st.subheader("By stage")
    st.table(stage_table(frame))
    st.caption(
        f"Tested on the first day of each month from {fmt.date(first)} to {fmt.date(last)}: the deals open that "
        "day that have closed since. Our probability is the stage's conversion rate learned only from deals "
        "closed before that day; the CRM's is the probability the deal showed that day. A deal open on several "
        "first days counts on each. The skill compares each miss with assuming the recent win rate (the days "
        "before each month, probability_calibration_base_rate_days) for every deal."
    )
