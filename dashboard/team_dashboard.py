"""Team Dashboard: where performance diverges, by rep and by deal type.

Reads rep_scorecards (one row per rep and quarter: win rates overall, inbound/outbound,
ICP/non-ICP with counts, median cycle vs the team's, ICP share of pipeline, next-step
rate, attainment), dim_reps, and revops_health for the ICP-share goal (icp_share_healthy_min).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import tracking, url_state
from dashboard.served import ServedWarehouse
from dashboard.settings import DashboardSettingError, DashboardSettings

TABLES = ("marts.rep_scorecards", "marts.dim_reps", "marts.revops_health")


def fetch(db: ServedWarehouse) -> kit.Frames:
    return {
        "reps": db.frame("select owner_id, name, team from marts.dim_reps"),
        "scorecards": db.frame("select * from marts.rep_scorecards"),
        "bands": kit.fetch_bands(db),
        "coverage": tracking.fetch(db),
    }


def rate_of(won: float, closed: float) -> float | None:
    return won / closed if closed else None


def team_summary(cards: pd.DataFrame) -> dict[str, float | None]:
    """Rates of the selection recomputed from counts and amounts (not averages of rates)."""
    inbound_won = (cards["inbound_win_rate"].fillna(0) * cards["inbound_closed_count"]).sum()
    outbound_won = (cards["outbound_win_rate"].fillna(0) * cards["outbound_closed_count"]).sum()
    icp_won = (cards["icp_win_rate"].fillna(0) * cards["icp_closed_count"]).sum()
    non_icp_won = (cards["non_icp_win_rate"].fillna(0) * cards["non_icp_closed_count"]).sum()
    target = cards["target_amount"].fillna(0).sum()
    return {
        "won": float(cards["won_count"].sum()),
        "closed": float(cards["closed_count"].sum()),
        "win_rate": rate_of(cards["won_count"].sum(), cards["closed_count"].sum()),
        "inbound_win_rate": rate_of(inbound_won, cards["inbound_closed_count"].sum()),
        "outbound_win_rate": rate_of(outbound_won, cards["outbound_closed_count"].sum()),
        "icp_win_rate": rate_of(icp_won, cards["icp_closed_count"].sum()),
        "non_icp_win_rate": rate_of(non_icp_won, cards["non_icp_closed_count"].sum()),
        "closed_won_amount": float(cards["closed_won_amount"].fillna(0).sum()),
        "target_amount": float(target),
        "attainment_rate": (cards["closed_won_amount"].fillna(0).sum() / target) if target else None,
    }


SMALL_SAMPLE = "too few closed deals to rank"
ENOUGH = "enough closed deals"


def with_sample(frame: pd.DataFrame, count_field: str, min_sample: int) -> pd.DataFrame:
    """`label` = "rep (n=12)" and `sample` = ok / small: a rate from fewer than `min_sample`
    closed deals is shown grey and never ranked."""
    n = frame[count_field].fillna(0).astype(int)
    return frame.assign(
        label=[f"{r} (n={c})" for r, c in zip(frame["rep"], n)],
        sample=[ENOUGH if c >= min_sample else SMALL_SAMPLE for c in n],
    )


def _bar(
    frame: pd.DataFrame,
    field: str,
    title: str,
    tooltip: list,
    goal: float | None = None,
    goal_label: str = "",
    count_field: str | None = None,
    min_sample: int = 1,
) -> alt.LayerChart | alt.Chart:
    data = frame.dropna(subset=[field])
    if count_field is None:
        data = data.assign(label=data["rep"], sample=ENOUGH)
    else:
        data = with_sample(data, count_field, min_sample)
    bars = (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{field}:Q", axis=kit.share_axis(None)),
            y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
            color=alt.Color(
                "sample:N",
                scale=alt.Scale(domain=[ENOUGH, SMALL_SAMPLE], range=["#2e86c1", "#c8c8c8"]),
                legend=None if count_field is None else alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=tooltip,
        )
        .properties(height=max(160, 24 * len(data)))
    )
    if goal is None:
        return bars
    rule = (
        alt.Chart(pd.DataFrame({"goal": [goal], "label": [goal_label]}))
        .mark_rule(color="black", strokeDash=[4, 4])
        .encode(x="goal:Q", tooltip=["label:N"])
    )
    return bars + rule


def paired_chart(frame: pd.DataFrame, fields: dict[str, str], title: str, min_sample: int = 1) -> alt.Chart:
    counts = {
        "inbound_win_rate": "inbound_closed_count",
        "outbound_win_rate": "outbound_closed_count",
        "icp_win_rate": "icp_closed_count",
        "non_icp_win_rate": "non_icp_closed_count",
    }
    long = []
    for field, label in fields.items():
        part = frame[["rep", field, counts[field]]].rename(
            columns={field: "win_rate", counts[field]: "closed"}
        )
        part["kind"] = label
        long.append(part)
    data = pd.concat(long).dropna(subset=["win_rate"])
    data["sample"] = [ENOUGH if c >= min_sample else SMALL_SAMPLE for c in data["closed"].fillna(0)]
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("win_rate:Q", axis=kit.share_axis(None)),
            y=alt.Y("rep:N", title=None, axis=alt.Axis(labelOverlap=False)),
            yOffset="kind:N",
            opacity=alt.Opacity(
                "sample:N", scale=alt.Scale(domain=[ENOUGH, SMALL_SAMPLE], range=[1.0, 0.25]), legend=None
            ),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=list(fields.values()), range=["#2e86c1", "#f0a30a"]),
            ),
            tooltip=[
                "rep:N",
                "kind:N",
                alt.Tooltip("win_rate:Q", format=".0%", title="Win rate"),
                alt.Tooltip("closed:Q", title="Closed deals"),
            ],
        )
        .properties(height=max(180, 30 * frame["rep"].nunique()))
    )


def cycle_chart(frame: pd.DataFrame) -> alt.LayerChart:
    data = frame.dropna(subset=["median_cycle_days"])
    team = data["team"].dropna().unique()
    title = "Median sales cycle (won deals) vs the team" + (f" ({team[0]})" if len(team) == 1 else "")
    bars = (
        alt.Chart(data, title=title)
        .mark_bar(color="#5dade2", size=16)
        .encode(
            x=alt.X("median_cycle_days:Q", title="Days"),
            y=alt.Y("rep:N", sort="x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
            tooltip=[
                "rep:N",
                "team:N",
                alt.Tooltip("median_cycle_days:Q", title="Rep median days"),
                alt.Tooltip("team_median_cycle_days:Q", title="Team median days"),
            ],
        )
    )
    ticks = (
        alt.Chart(data)
        .mark_tick(color="black", thickness=2, size=18)
        .encode(
            x="team_median_cycle_days:Q",
            y=alt.Y("rep:N", sort="x"),
            tooltip=["team:N", alt.Tooltip("team_median_cycle_days:Q", title="Team median days")],
        )
    )
    return (bars + ticks).properties(height=max(160, 30 * len(data)))


SCORECARD_COLUMNS = {
    "Win rate": fmt.percent_column(),
    "Inbound win rate": fmt.percent_column(),
    "Outbound win rate": fmt.percent_column(),
    "ICP win rate": fmt.percent_column(),
    "Non-ICP win rate": fmt.percent_column(),
    "ICP share of pipeline": fmt.percent_column(),
    "Next step on": fmt.percent_column(),
    "Target": st.column_config.NumberColumn(format="dollar", step=1),
    "Closed won": st.column_config.NumberColumn(format="dollar", step=1),
    "Attainment": fmt.percent_bar_column(max_points=150),
}

PERCENT_COLUMNS = [
    "Win rate",
    "Inbound win rate",
    "Outbound win rate",
    "ICP win rate",
    "Non-ICP win rate",
    "ICP share of pipeline",
    "Next step on",
    "Attainment",
]


def scorecard_table(cards: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Rep": cards["rep"],
            "Team": cards["team"],
            "Closed": cards["closed_count"],
            "Won": cards["won_count"],
            "Win rate": cards["win_rate"],
            "Inbound win rate": cards["inbound_win_rate"],
            "Inbound n": cards["inbound_closed_count"],
            "Outbound win rate": cards["outbound_win_rate"],
            "Outbound n": cards["outbound_closed_count"],
            "ICP win rate": cards["icp_win_rate"],
            "ICP n": cards["icp_closed_count"],
            "Non-ICP win rate": cards["non_icp_win_rate"],
            "Non-ICP n": cards["non_icp_closed_count"],
            "Median cycle (days)": cards["median_cycle_days"],
            "Team median cycle (days)": cards["team_median_cycle_days"],
            "ICP share of pipeline": cards["icp_pipeline_share_rate"],
            "Next step on": cards["next_step_rate"],
            "High-risk deals": cards["high_risk_deal_count"],
            "Target": cards["target_amount"],
            "Closed won": cards["closed_won_amount"],
            "Attainment": cards["attainment_rate"],
        }
    ).sort_values("Attainment", ascending=False, na_position="last")


def render() -> None:
    frames = kit.load(fetch, TABLES)
    if frames is None:
        kit.page_header("Team Dashboard", "Where does performance diverge?")
        return
    reps, scorecards = frames["reps"], frames["scorecards"]
    tr = tracking.load(frames)
    if scorecards.empty:
        kit.page_header("Team Dashboard", "Where does performance diverge?")
        kit.empty(
            "The rep_scorecards mart is empty: no rep closed a deal or had a target in the scored quarters."
        )
        return
    kit.page_header(
        "Team Dashboard",
        "Where does performance diverge, by rep and by deal type?",
        scorecards["as_of_date"].iloc[0],
    )
    tr.notice(("quotas", "icp_fields", "next_step"))

    quarter, team = _quarter_and_team(scorecards)
    cards = scorecards[scorecards["quarter_start"] == quarter]
    if team != kit.ALL_TEAMS:
        cards = cards[cards["team"] == team]
    who = "the company" if team == kit.ALL_TEAMS else f"team {team}"
    if cards.empty:
        kit.empty(
            f"No scorecards for {who} in {fmt.period_label('quarter', quarter)}: no rep closed a deal or had a target."
        )
        return
    cards = kit.with_rep_names(cards, reps)
    summary = team_summary(cards)
    min_sample = _min_sample()
    _headline_metrics(summary, tr)
    _callouts(cards, summary, min_sample, who, quarter, tr)
    _win_rate_and_attainment_charts(cards, summary, min_sample, tr)
    _split_charts(cards, min_sample, tr)
    _cycle_and_icp_share_charts(cards, tr, kit.band(frames["bands"], "icp_share_of_pipeline")[0])

    st.subheader("Scorecards")
    st.dataframe(
        fmt.neutralize_formulas(fmt.with_percent_points(scorecard_table(cards), PERCENT_COLUMNS)),
        hide_index=True,
        column_config=SCORECARD_COLUMNS,
        width="stretch",
    )


def _quarter_and_team(scorecards: pd.DataFrame) -> tuple[object, str]:
    """The quarter (latest first, the current one "to date") and the team, kept in the address."""
    quarters = sorted(scorecards["quarter_start"].dropna().unique(), reverse=True)
    left, right = st.columns(2)
    url_state.initial("team_quarter", "period", quarters)
    quarter = left.selectbox(
        "Quarter",
        quarters,
        key="team_quarter",
        format_func=lambda q: fmt.period_label("quarter", q) + (" (to date)" if q == quarters[0] else ""),
    )
    teams = sorted(scorecards["team"].dropna().unique())
    url_state.initial("team_team", "team", [kit.ALL_TEAMS, *teams])
    team = right.selectbox("Team", [kit.ALL_TEAMS, *teams], key="team_team")
    url_state.keep(period=quarter, team=None if team == kit.ALL_TEAMS else team)
    return quarter, team


def _min_sample() -> int:
    try:
        return DashboardSettings.from_env().min_sample
    except DashboardSettingError as error:
        st.warning(kit.md(error), icon=":material/warning:")
        return DashboardSettings().min_sample


def _target_text(tr: tracking.Tracking) -> str:
    return "quotas " + tracking.NOT_TRACKED if tr.untracked("quotas") else "no target set"


def _headline_metrics(summary: dict[str, float | None], tr: tracking.Tracking) -> None:
    cols = st.columns(4)
    cols[0].metric(
        "Win rate",
        fmt.share(summary["win_rate"]) + f" (n={fmt.count(summary['closed'])})",
        help=f"{fmt.count(summary['won'])} won of {fmt.count(summary['closed'])} closed",
        border=True,
    )
    cols[1].metric(
        "Attainment",
        tr.text(summary["attainment_rate"], fmt.share, "quotas"),
        help=kit.md(
            f"{fmt.money(summary['closed_won_amount'])} won; target: "
            + (fmt.money(summary["target_amount"]) if summary["target_amount"] else _target_text(tr))
        ),
        border=True,
    )
    cols[2].metric(
        "Inbound vs outbound",
        f"{fmt.share(summary['inbound_win_rate'])} / {fmt.share(summary['outbound_win_rate'])}",
        border=True,
    )
    icp_untracked = tr.untracked("icp_fields")
    icp_rates = (summary["icp_win_rate"], summary["non_icp_win_rate"])
    if icp_untracked and all(fmt.is_missing(v) for v in icp_rates):
        cols[3].metric(
            "ICP vs non-ICP", "Not tracked", help=f"The ICP fields are {tracking.NOT_TRACKED}", border=True
        )
    else:
        cols[3].metric(
            "ICP vs non-ICP",
            f"{fmt.share(icp_rates[0])} / {fmt.share(icp_rates[1])}",
            border=True,
            help=None if not icp_untracked else "ICP judged on the criteria your CRM tracks",
        )


def _callouts(
    cards: pd.DataFrame,
    summary: dict[str, float | None],
    min_sample: int,
    who: str,
    quarter: object,
    tr: tracking.Tracking,
) -> None:
    """The best win rate (ranked only from min_sample closed deals) and attainment, in one line."""
    callouts = []
    ranked = cards.dropna(subset=["win_rate"])
    ranked = ranked[ranked["closed_count"] >= min_sample].sort_values(
        ["win_rate", "closed_count"], ascending=False
    )
    if not ranked.empty:
        best = ranked.iloc[0]
        callouts.append(
            f"Highest win rate: **{kit.md(best.rep)}** {fmt.share(best.win_rate)} "
            f"({fmt.count(best.won_count)} of {fmt.count(best.closed_count)})"
        )
    elif cards["win_rate"].notna().any():
        callouts.append(f"No rep closed {min_sample} deals yet: win rates are not ranked")
    attained = cards.dropna(subset=["attainment_rate"]).sort_values("attainment_rate", ascending=False)
    if not attained.empty:
        top = attained.iloc[0]
        callouts.append(
            f"Top attainment: **{kit.md(top.rep)}** {fmt.share(top.attainment_rate)} "
            f"({kit.md(fmt.money(top.closed_won_amount))} of {kit.md(fmt.money(top.target_amount))})"
        )
    if callouts:
        st.markdown(" · ".join(callouts))
    st.caption(
        f"{fmt.period_label('quarter', quarter)} for {kit.md(who)}: {kit.md(fmt.money(summary['closed_won_amount']))} won "
        + (
            f"of {kit.md(fmt.money(summary['target_amount']))} target."
            if summary["target_amount"]
            else f"(target: {_target_text(tr)})."
        )
    )


def _win_rate_and_attainment_charts(
    cards: pd.DataFrame, summary: dict[str, float | None], min_sample: int, tr: tracking.Tracking
) -> None:
    win_tooltip = [
        "rep:N",
        alt.Tooltip("win_rate:Q", format=".0%", title="Win rate"),
        alt.Tooltip("won_count:Q", title="Won"),
        alt.Tooltip("closed_count:Q", title="Closed"),
    ]
    left, right = st.columns(2)
    with left:
        if cards["win_rate"].notna().any():
            kit.chart(
                _bar(
                    cards,
                    "win_rate",
                    "Win rate by rep (n = closed deals)",
                    win_tooltip,
                    summary["win_rate"],
                    "Selection's win rate",
                    count_field="closed_count",
                    min_sample=min_sample,
                )
            )
            st.caption(
                f"A rate from fewer than {min_sample} closed deals is grey and not ranked "
                "(REVOPS_DASHBOARD_MIN_SAMPLE)."
            )
        else:
            kit.empty("No rep closed a deal this quarter, so there is no win rate yet.")
    with right:
        attainment_tooltip = [
            "rep:N",
            alt.Tooltip("attainment_rate:Q", format=".0%", title="Attainment"),
            alt.Tooltip("closed_won_amount:Q", format="$,.0f", title="Closed won"),
            alt.Tooltip("target_amount:Q", format="$,.0f", title="Target"),
        ]
        if cards["attainment_rate"].notna().any():
            kit.chart(
                _bar(cards, "attainment_rate", "Attainment by rep", attainment_tooltip, 1.0, "100% of target")
            )
        elif tr.untracked("quotas"):
            kit.empty(f"Attainment: quotas are {tracking.NOT_TRACKED}, so no rep has a target to attain.")
        else:
            kit.empty("No rep has a target this quarter, so there is no attainment to show.")


def _split_charts(cards: pd.DataFrame, min_sample: int, tr: tracking.Tracking) -> None:
    """Win rates inbound vs outbound and ICP vs non-ICP, per rep."""
    left, right = st.columns(2)
    with left:
        if cards[["inbound_win_rate", "outbound_win_rate"]].notna().any().any():
            kit.chart(
                paired_chart(
                    cards,
                    {"inbound_win_rate": "Inbound", "outbound_win_rate": "Outbound"},
                    "Win rate, inbound vs outbound (faint: too few closed deals)",
                    min_sample,
                )
            )
        else:
            kit.empty("No closed deals to split into inbound and outbound.")
    with right:
        if cards[["icp_win_rate", "non_icp_win_rate"]].notna().any().any():
            kit.chart(
                paired_chart(
                    cards,
                    {"icp_win_rate": "ICP", "non_icp_win_rate": "Non-ICP"},
                    "Win rate, ICP vs non-ICP deals (faint: too few closed deals)",
                    min_sample,
                )
            )
        elif tr.untracked("icp_fields"):
            kit.empty(f"ICP vs non-ICP: the ICP fields are {tracking.NOT_TRACKED}, so no deal can be judged.")
        else:
            kit.empty("No closed deals to split into ICP and non-ICP.")


def icp_share_title(goal: float | None) -> str:
    """The ICP-share chart's title, with revops_health's goal (icp_share_healthy_min) when it has one."""
    base = "ICP share of open pipeline"
    return base if goal is None else f"{base} (goal > {fmt.share(goal)})"


def _cycle_and_icp_share_charts(cards: pd.DataFrame, tr: tracking.Tracking, icp_goal: float | None) -> None:
    left, right = st.columns(2)
    with left:
        cycle_teams = sorted(cards.dropna(subset=["median_cycle_days"])["team"].dropna().unique())
        if len(cycle_teams) > 1:  # one team at a time: every rep's name stays readable
            cycle_team = st.selectbox("Cycle chart: team", cycle_teams, key="team_cycle_team")
            cycle_cards = cards[cards["team"] == cycle_team]
        else:
            cycle_cards = cards
        if cycle_cards["median_cycle_days"].notna().any():
            kit.chart(cycle_chart(cycle_cards))
        else:
            kit.empty("No won deals this quarter, so there is no sales cycle to compare.")
    with right:
        share_tooltip = ["rep:N", alt.Tooltip("icp_pipeline_share_rate:Q", format=".0%", title="ICP share")]
        if cards["icp_pipeline_share_rate"].notna().any():
            kit.chart(
                _bar(
                    cards,
                    "icp_pipeline_share_rate",
                    icp_share_title(icp_goal),
                    share_tooltip,
                    icp_goal,
                    "" if icp_goal is None else f"Goal: {fmt.share(icp_goal)}",
                )
            )
        elif tr.untracked("icp_fields"):
            kit.empty(f"ICP share of pipeline: the ICP fields are {tracking.NOT_TRACKED}.")
        else:
            kit.empty("No open pipeline at the quarter's end, so there is no ICP share.")
