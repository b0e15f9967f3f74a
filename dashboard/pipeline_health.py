"""Pipeline Health Panel: which deals are drifting, why, and is the pipeline getting cleaner.

Reads deal_risk (open deals with their flags and reasons), pipeline_hygiene (today's
counts per owner, team and company), pipeline_hygiene_weekly (the trend), revops_health
(the six health metrics) and dim_reps (names and teams).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import drift_list, health_strip, tracking
from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard.served import ServedWarehouse

TABLES = (
    "marts.deal_risk",
    "marts.pipeline_hygiene",
    "marts.pipeline_hygiene_weekly",
    "marts.revops_health",
    "marts.dim_reps",
    "marts.fct_deal_snapshots",
    "marts.forecast",
    "marts.rep_scorecards",
)
TREND_WEEKS = 26
RISK_LEVELS = ["low", "medium", "high"]


def fetch(db: ServedWarehouse) -> kit.Frames:
    return {
        "reps": db.frame("select owner_id, name, team from marts.dim_reps"),
        "risk": db.frame(
            """
            select as_of_date, opportunity_id, owner_id, opportunity_name, stage_name, amount,
                close_date, next_step, next_step_date, days_in_stage, typical_stage_days,
                last_interaction_date, last_interaction_type, business_days_since_last_interaction,
                is_stalled, is_inactive, has_next_step, is_close_date_past, close_date_push_count,
                is_closing_soon_without_next_step, stage_time_component, activity_component,
                next_step_component, close_date_component,
                risk_score, risk_level, risk_reasons, main_reason, risk_known_weight
            from marts.deal_risk
            """
        ),
        "hygiene": db.frame("select * from marts.pipeline_hygiene"),
        "weekly": db.frame("select * from marts.pipeline_hygiene_weekly order by week_start"),
        "health": db.frame("select * from marts.revops_health"),
        "coverage": tracking.fetch(db),
        **health_strip.fetch(db),
    }


# --------------------------------------------------------------------------- the lists per problem

# tab -> (deal_risk flag, noun, the part the flag needs); the words are the mart's
DEAL_LISTS = {
    "Stalled": ("is_stalled", "stalled deals", None),
    "Inactive": ("is_inactive", "inactive deals", "activities"),
    "No next step": ("has_next_step", "deals without a next step", "next_step"),
    "Past close date": ("is_close_date_past", "deals past their close date", None),
}
UNTRACKED_LIST = {
    "activities": "Activities (calls, emails, meetings) are not tracked in your CRM, so no deal can be "
    "called inactive: the risk score leaves the activity part out.",
    "next_step": "Next steps are not tracked in your CRM, so no deal can be listed for lacking one.",
}


def deal_list(risk: pd.DataFrame, flag: str) -> pd.DataFrame:
    values = risk[flag].astype("boolean")  # NULL (not tracked) is neither flagged nor cleared
    mask = (values == False) if flag == "has_next_step" else (values == True)  # noqa: E712
    mask = mask.fillna(False).astype(bool)
    deals = risk[mask].sort_values(["amount", "risk_score"], ascending=False)
    return pd.DataFrame(
        {
            "Deal": deals["opportunity_name"],
            "Rep": deals["rep"],
            "Stage": deals["stage_name"],
            "Amount": deals["amount"],
            "Main reason": [drift_list.main_reason(r) for r in deals["main_reason"]],
            "Risk score": deals["risk_score"],
            "Close date": [fmt.as_date(d) for d in deals["close_date"]],
            "All reasons": [drift_list.all_reasons(r) for r in deals["risk_reasons"]],
        }
    )


DEAL_LIST_COLUMNS = {
    "Amount": st.column_config.NumberColumn(format="dollar", step=1),
    "Risk score": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f"),
    "Close date": st.column_config.DateColumn(format="MMM D, YYYY"),
    "Main reason": st.column_config.TextColumn(width="large"),
    "All reasons": st.column_config.TextColumn(width="large"),
}


# --------------------------------------------------------------------------- charts


def risk_distribution_chart(risk: pd.DataFrame) -> alt.Chart:
    scale = alt.Scale(domain=RISK_LEVELS, range=[kit.RISK_LEVEL_COLORS[level] for level in RISK_LEVELS])
    frame = risk.assign(score_bucket=(risk["risk_score"].clip(0, 99.999) // 10 * 10).astype(int))
    return (
        alt.Chart(frame, title="Open deals by risk score")
        .mark_bar()
        .encode(
            x=alt.X(
                "score_bucket:O",
                title="Risk score (0 = healthy, 100 = drifting)",
                axis=alt.Axis(labelAngle=0),
                scale=alt.Scale(domain=list(range(0, 100, 10))),
            ),
            y=alt.Y("count():Q", title="Deals"),
            color=alt.Color("risk_level:N", scale=scale, title="Risk level", sort=RISK_LEVELS),
            tooltip=[
                alt.Tooltip("risk_level:N", title="Level"),
                alt.Tooltip("count():Q", title="Deals"),
                alt.Tooltip("sum(amount):Q", title="Amount", format="$,.0f"),
            ],
        )
        .properties(height=260)
    )


def risk_amount_chart(risk: pd.DataFrame) -> alt.Chart:
    scale = alt.Scale(domain=RISK_LEVELS, range=[kit.RISK_LEVEL_COLORS[level] for level in RISK_LEVELS])
    by_level = risk.groupby("risk_level", as_index=False).agg(
        amount=("amount", "sum"), deals=("amount", "size")
    )
    return (
        alt.Chart(by_level, title="Open pipeline by risk level")
        .mark_bar()
        .encode(
            x=alt.X("risk_level:N", sort=RISK_LEVELS, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("amount:Q", axis=kit.money_axis("Amount")),
            color=alt.Color("risk_level:N", scale=scale, legend=None),
            tooltip=[
                alt.Tooltip("risk_level:N", title="Level"),
                alt.Tooltip("deals:Q", title="Deals"),
                alt.Tooltip("amount:Q", title="Amount", format="$,.0f"),
            ],
        )
        .properties(height=260)
    )


def next_step_share_title(goal: float | None) -> str:
    """The weekly next-step chart's title, with revops_health's goal (next_step_share_healthy_min)."""
    base = "Share of open deals with a next step, week by week"
    return base if goal is None else f"{base} (goal > {fmt.share(goal)})"


def hygiene_trend_charts(
    weekly: pd.DataFrame, next_step_goal: float | None
) -> tuple[alt.Chart, alt.Chart | alt.LayerChart | None]:
    counts = weekly.melt(
        id_vars=["week_start"],
        value_vars=["stalled_count", "inactive_count", "close_date_past_count", "no_next_step_count"],
        var_name="problem",
        value_name="deals",
    ).dropna(subset=["deals"])
    counts["problem"] = counts["problem"].map(
        {
            "stalled_count": "Stalled",
            "inactive_count": "Inactive",
            "close_date_past_count": "Past close date",
            "no_next_step_count": "No next step",
        }
    )
    counts["week"] = [fmt.short_date(d) for d in counts["week_start"]]
    weeks = [fmt.short_date(d) for d in sorted(weekly["week_start"].unique())]
    count_chart = (
        alt.Chart(counts, title="Deals with each problem, week by week")
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("week:O", title="Week of", sort=weeks, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("deals:Q", title="Deals"),
            color=alt.Color("problem:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[alt.Tooltip("week:O", title="Week of"), "problem:N", "deals:Q"],
        )
        .properties(height=280)
    )
    captured = weekly.dropna(subset=["next_step_rate"])
    if captured.empty:
        return count_chart, None
    captured = captured.assign(week=[fmt.short_date(d) for d in captured["week_start"]])
    rate_chart = (
        alt.Chart(captured, title=next_step_share_title(next_step_goal))
        .mark_bar()
        .encode(
            x=alt.X("week:O", title="Week of", scale=alt.Scale(domain=weeks), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("next_step_rate:Q", axis=kit.share_axis("Next step on"), scale=alt.Scale(domain=[0, 1])),
            tooltip=[
                alt.Tooltip("week:O", title="Week of"),
                alt.Tooltip("next_step_rate:Q", title="Next step on", format=".1%"),
            ],
        )
        .properties(height=280)
    )
    if next_step_goal is None:
        return count_chart, rate_chart
    goal = (
        alt.Chart(pd.DataFrame({"goal": [next_step_goal]}))
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(y="goal:Q")
    )
    return count_chart, rate_chart + goal


# --------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class Scope:
    """Who the page is about: the company, a team or a rep, and their open deals."""

    label: str
    level: str  # company | team | owner
    value: str | None
    deals: pd.DataFrame
    owners: set[str] | None  # the reps of the scope (None: everyone)
    team: str | None  # the team the scope's health metrics come from


def _scope(risk: pd.DataFrame, hygiene: pd.DataFrame, reps: pd.DataFrame) -> Scope:
    risk = kit.with_rep_names(risk, reps)
    team_of = dict(zip(reps["owner_id"], reps["team"]))
    risk["team"] = [team_of.get(o) for o in risk["owner_id"]]
    owners = sorted(
        set(risk["owner_id"]) | set(hygiene.loc[hygiene["rollup_level"] == "owner", "owner_id"].dropna())
    )
    team, owner = kit.team_and_rep_filter(reps, owners, key="health")
    if owner:
        name = kit.name_of(kit.rep_names(reps), owner)
        return Scope(name, "owner", owner, risk[risk["owner_id"] == owner], {owner}, team_of.get(owner))
    if team:
        members = {o for o, t in team_of.items() if t == team}
        return Scope(team, "team", team, risk[risk["team"] == team], members, team)
    return Scope("the company", "company", None, risk, None, None)


def render() -> None:
    frames = kit.load(fetch, TABLES)
    if frames is None:
        kit.page_header("Pipeline Health", "Which deals are drifting, and why?")
        return
    reps, risk, hygiene, weekly, health = (frames[k] for k in ("reps", "risk", "hygiene", "weekly", "health"))
    tr = tracking.load(frames)
    as_of = (
        risk["as_of_date"].iloc[0]
        if not risk.empty
        else (hygiene["as_of_date"].iloc[0] if not hygiene.empty else None)
    )
    kit.page_header(
        "Pipeline Health", "Which deals are drifting, and why? The Monday 15-minute review.", as_of
    )
    tr.notice(("activities", "next_step", "next_step_date", "history", "quotas"))

    scope = _scope(risk, hygiene, reps)
    deals = scope.deals
    summary = kit.rows_for_scope(hygiene, scope.level, scope.value)
    if summary.empty or deals.empty:
        kit.empty(f"No open deals for {scope.label} on this day: nothing to review.")
        return
    row = summary.iloc[0]
    high = deals[deals["risk_level"] == "high"]
    trend = kit.rows_for_scope(weekly, scope.level, scope.value).sort_values("week_start")
    health_strip.cards(
        row, high, frames, scope.owners, trend, tr, as_of, level=scope.level, scope=scope.value
    )

    shown = kit.shown_day()  # a past day: the deal links keep it
    past = shown.as_of_date if shown is not None else None
    listed = drift_list.drifting(deals, past)
    st.markdown(
        f"**{fmt.count(len(listed))} drifting deals** (medium or high risk) worth "
        f"**{kit.md(fmt.money(listed['Amount'].sum()))}** for {kit.md(scope.label)}, "
        "ranked by risk score × amount"
    )
    drift_list.render(deals, scope.label, past)
    _high_risk_summary(row, high, deals, scope.label, tr)

    whose = {"company": "company", "team": f"team {scope.value}", "owner": scope.label}[scope.level]
    owner = scope.value if scope.level == "owner" else None
    health_strip.render_strip(
        health_strip.strip_rows(health, frames, row, scope.level, scope.team, owner), whose
    )

    left, right = st.columns(2)
    with left:
        kit.chart(risk_distribution_chart(deals))
    with right:
        kit.chart(risk_amount_chart(deals))

    _deals_by_problem(deals, scope.label, tr)
    next_step_goal = kit.band(health, "next_step_share")[0]
    _hygiene_trend(trend, scope.label, tr, next_step_goal)


def _high_risk_summary(
    row: Any, high: pd.DataFrame, deals: pd.DataFrame, scope_label: str, tr: tracking.Tracking
) -> None:
    """One sentence: the high-risk deals and what is wrong across the scope's pipeline."""

    def counted(value: object, what: str, key: str) -> str:
        if fmt.is_missing(value) and tr.untracked(key):
            return f"{what} *{tracking.NOT_TRACKED}*"
        return f"{fmt.count(value)} {what}"

    floating = getattr(row, "floating_count", None)
    st.markdown(
        f"**{fmt.count(len(high))} high-risk deals worth {kit.md(fmt.money(high['amount'].sum()))}** "
        f"of {kit.md(fmt.money(row.open_amount))} open pipeline for {kit.md(scope_label)}: "
        f"{fmt.count(row.stalled_count)} stalled, {counted(row.inactive_count, 'inactive', 'activities')}, "
        + (
            f"{counted(floating, 'floating', 'activities')}, "
            if fmt.is_missing(floating) and tr.untracked("activities")
            else ""
        )
        + f"{counted(row.no_next_step_count, 'without a next step', 'next_step')}, "
        f"{fmt.count(row.close_date_past_count)} past their close date."
    )
    known = deals["risk_known_weight"].dropna() if "risk_known_weight" in deals else pd.Series(dtype=float)
    if not known.empty and known.max() < 100:
        st.caption(
            f"Risk scores are out of the {fmt.count(known.max())} points of 100 your CRM lets the warehouse know "
            "(scaled to 0-100); the reasons of each deal start with what is not tracked."
        )


def _deals_by_problem(deals: pd.DataFrame, scope_label: str, tr: tracking.Tracking) -> None:
    st.subheader("Deals by problem")
    tabs_spec = []
    for title, (flag, noun, needs) in DEAL_LISTS.items():
        untracked = needs is not None and tr.untracked(needs) and deals[flag].isna().all()
        listed = deal_list(deals, flag)
        tabs_spec.append(
            (
                f"{title} (not tracked)" if untracked else f"{title} ({len(listed)})",
                listed,
                noun,
                needs if untracked else None,
            )
        )
    for tab, (_, listed, noun, untracked) in zip(st.tabs([t for t, *_ in tabs_spec]), tabs_spec):
        with tab:
            if untracked:
                kit.empty(UNTRACKED_LIST[untracked])
            elif listed.empty:
                kit.empty(f"No {noun} for {scope_label}.")
            else:
                st.dataframe(
                    fmt.neutralize_formulas(listed),
                    hide_index=True,
                    column_config=DEAL_LIST_COLUMNS,
                    width="stretch",
                )


def _hygiene_trend(
    trend: pd.DataFrame, scope_label: str, tr: tracking.Tracking, next_step_goal: float | None
) -> None:
    st.subheader("Hygiene trend")
    trend = trend.tail(TREND_WEEKS)
    if trend.empty:
        kit.empty(f"No weekly history for {scope_label} yet.")
        return
    count_chart, rate_chart = hygiene_trend_charts(trend, next_step_goal)
    left, right = st.columns(2)
    with left:
        kit.chart(count_chart)
        if tr.untracked("activities"):
            st.caption(
                f"Inactive deals: {tracking.NOT_TRACKED} (no calls, emails or meetings), so no line for them."
            )
    with right:
        if rate_chart is None and tr.untracked("next_step"):
            kit.empty(f"Next steps are {tracking.NOT_TRACKED}: there is no next-step share to chart.")
        elif rate_chart is None:
            kit.empty(
                "Next steps are not in the CRM's history: the weekly next-step share starts on "
                "the first day the project captured the deals, so there is none in these weeks yet."
            )
        else:
            kit.chart(rate_chart)
            first = trend.dropna(subset=["next_step_rate"])["week_start"].min()
            st.caption(
                f"Next steps are captured from the week of {fmt.date(first)} on; earlier weeks cannot say."
            )
