"""One deal (`/deal?id=<opportunity_id>`): where it stands, why it is flagged, what to do.

Opened from Pipeline Health's ranked list. Reads dim_deals (the deal), deal_risk (the score,
its parts and the reasons as the mart words them, and the last interaction), deal_interactions
(the calls, emails and meetings of the last 90 days), fct_stage_history (the stage timeline),
daily_action_list (the deal's row in its owner's plan, if any), dim_reps and source_coverage. Links to the CRM record when REVOPS_CRM_RECORD_URL is
set (dashboard/settings.py).
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
from dashboard.settings import DashboardSettingError, DashboardSettings

TABLES = (
    "marts.dim_deals",
    "marts.deal_risk",
    "marts.fct_stage_history",
    "marts.daily_action_list",
    "marts.dim_reps",
    "marts.deal_interactions",
    "marts.source_coverage",
)

COMPONENT_LABELS = {
    "stage_time_component": "Stage time",
    "activity_component": "Activity",
    "next_step_component": "Next step",
    "close_date_component": "Close date",
}


def fetcher(opportunity_id: str):
    def fetch(db: ServedWarehouse) -> kit.Frames:
        one = [opportunity_id]
        return {
            "deal": db.frame("select * from marts.dim_deals where opportunity_id = ?", one),
            "risk": db.frame("select * from marts.deal_risk where opportunity_id = ?", one),
            "stages": db.frame(
                "select * from marts.fct_stage_history where opportunity_id = ? order by stage_sequence", one
            ),
            "actions": db.frame(
                "select * from marts.daily_action_list where opportunity_id = ? order by priority_block, rank",
                one,
            ),
            "reps": db.frame("select owner_id, name, team from marts.dim_reps"),
            "coverage": tracking.fetch(db),
            "interactions": db.frame(
                "select interaction_date, interaction_type, subject, owner_id from marts.deal_interactions "
                "where opportunity_id = ? order by interaction_at desc, interaction_id",
                one,
            ),
        }

    return fetch


def reason_rows(risk: Any) -> list[str]:
    """The deal's reasons as deal_risk words them (`risk_reasons`, one per flag or gap), so
    the page says what the mart decided, with the thresholds the build used."""
    if fmt.is_missing(getattr(risk, "risk_reasons", None)):
        return []
    return [part.strip() for part in str(risk.risk_reasons).split(";") if part.strip()]


def interaction_table(interactions: pd.DataFrame, names: dict, as_of: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "When": [
                f"{fmt.relative_day(d, as_of)} ({fmt.date(d)})" for d in interactions["interaction_date"]
            ],
            "Kind": [str(k).capitalize() for k in interactions["interaction_type"]],
            "Subject": ["" if fmt.is_missing(v) else str(v) for v in interactions["subject"]],
            "By": [kit.name_of(names, o) for o in interactions["owner_id"]],
        }
    )


def timeline_chart(stages: pd.DataFrame, as_of: Any) -> alt.Chart:
    frame = stages.assign(
        start=[fmt.as_date(d) for d in stages["entered_date"]],
        end=[fmt.as_date(d) or fmt.as_date(as_of) for d in stages["exited_date"]],
        step=[f"{i + 1}. {name}" for i, name in enumerate(stages["stage_name"])],
    )
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return (
        alt.Chart(frame)
        .mark_bar(height=20)
        .encode(
            x=alt.X("start:T", title=None, axis=alt.Axis(format="%b %d, %Y")),
            x2="end:T",
            y=alt.Y(
                "step:N",
                title=None,
                sort=list(frame["step"]),
                axis=alt.Axis(labelLimit=260, labelOverlap=False),
            ),
            color=alt.Color(
                "is_current:N",
                legend=None,
                scale=alt.Scale(domain=[False, True], range=["#8aa4c8", "#1f4e8c"]),
            ),
            tooltip=[
                "stage_name:N",
                alt.Tooltip("start:T", title="Entered"),
                alt.Tooltip("end:T", title="Left (or today)"),
                alt.Tooltip("days_in_stage:Q", title="Days"),
            ],
        )
        .properties(height=max(90, 30 * len(frame)))
    )


def stage_table(stages: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Stage": stages["stage_name"],
            "Entered": [fmt.relative_day(d, as_of) for d in stages["entered_date"]],
            "Left": [
                "still here" if current else fmt.relative_day(d, as_of)
                for d, current in zip(stages["exited_date"], stages["is_current"])
            ],
            "Days": stages["days_in_stage"],
            "Business days": stages["business_days_in_stage"],
            "Back to an earlier stage": ["yes" if r else "" for r in stages["is_regression"]],
        }
    )


def render() -> None:
    opportunity_id = url_state.wanted("id")
    if not opportunity_id:
        kit.page_header("Deal", "One deal: where it stands and why it is flagged.")
        kit.empty(
            "No deal chosen: open one from the drifting deals on **Pipeline Health** (`/deal?id=<opportunity_id>`)."
        )
        return
    frames = kit.load(fetcher(opportunity_id), TABLES, cache_key=opportunity_id)
    if frames is None:
        kit.page_header("Deal", "One deal: where it stands and why it is flagged.")
        return
    deal_rows, stages, reps = frames["deal"], frames["stages"], frames["reps"]
    if deal_rows.empty:
        kit.page_header("Deal", "One deal: where it stands and why it is flagged.")
        st.warning(
            f"No deal with the id {kit.code(opportunity_id)} in the published marts (dim_deals): "
            "it may have been deleted in the CRM, or the address was mistyped.",
            icon=":material/search_off:",
        )
        return
    deal = deal_rows.iloc[0]
    as_of = deal["as_of_date"]
    names = kit.rep_names(reps)
    kit.page_header(
        str(deal["opportunity_name"] or opportunity_id), "One deal: where it stands and why.", as_of
    )
    _facts(deal, opportunity_id, names, as_of)

    left, right = st.columns([3, 2])
    with left:
        _why_flagged(deal, frames["risk"], as_of)
    with right:
        _in_the_plan(frames["actions"], names)
    _activity(frames, names, as_of)

    st.subheader("Stage timeline")
    if stages.empty:
        kit.empty("No stage history for this deal (fct_stage_history).")
        return
    kit.chart(timeline_chart(stages, as_of))
    st.dataframe(fmt.neutralize_formulas(stage_table(stages, as_of)), hide_index=True, width="stretch")


def _facts(deal: pd.Series, opportunity_id: str, names: dict[str, str], as_of: object) -> None:
    """Amount, stage, owner, close date, and the link to the CRM record when one is set."""
    try:
        settings = DashboardSettings.from_env()
    except DashboardSettingError as error:
        st.warning(kit.md(error), icon=":material/link_off:")
        settings = DashboardSettings()
    link = settings.crm_link(opportunity_id)
    owner = kit.name_of(names, deal["owner_id"])
    facts = [
        f"**{kit.md(fmt.money(deal['amount']))}**",
        kit.md(deal["stage_name"]),
        f"owner **{kit.md(owner)}**" + ("" if fmt.is_missing(deal["team"]) else f" ({kit.md(deal['team'])})"),
        f"closes {kit.md(fmt.date(deal['close_date']))} ({fmt.relative_day(deal['close_date'], as_of)})",
    ]
    st.markdown(" · ".join(facts) + (f" · [Open in the CRM]({link})" if link else ""))
    if not link:
        st.caption(
            "Set `REVOPS_CRM_RECORD_URL` (e.g. `https://acme.my.salesforce.com/{id}`) to link to the CRM record."
        )


def _why_flagged(deal: pd.Series, risk_rows: pd.DataFrame, as_of: object) -> None:
    st.subheader("Why it is flagged")
    if risk_rows.empty:
        state = "won" if deal["is_won"] else ("closed" if deal["is_closed"] else "not scored")
        kit.empty(f"This deal is {state}: deal_risk scores open deals only.")
        return
    risk = next(risk_rows.itertuples())
    st.markdown(f"Risk score **{fmt.count(round(risk.risk_score))}** of 100 ({kit.md(risk.risk_level)})")
    reasons = reason_rows(risk)
    if reasons:
        st.markdown("\n".join(f"- {kit.md(reason)}" for reason in reasons))
    else:
        st.markdown("No risk flag is raised.")
    parts = [
        f"{label} {fmt.count(getattr(risk, column))}"
        for column, label in COMPONENT_LABELS.items()
        if not fmt.is_missing(getattr(risk, column))
    ]
    st.caption("Score parts (points, each up to its weight): " + ", ".join(parts))
    last = (
        "none logged"
        if fmt.is_missing(risk.last_interaction_date)
        else f"{str(risk.last_interaction_type or 'interaction').lower()} "
        f"{fmt.relative_day(risk.last_interaction_date, as_of)} ({fmt.date(risk.last_interaction_date)})"
    )
    st.markdown(f"**Last interaction:** {kit.md(last)}")


def _in_the_plan(actions: pd.DataFrame, names: dict[str, str]) -> None:
    st.subheader("In the plan")
    if actions.empty:
        kit.empty("Not in anyone's Plan My Day today.")
    for action in actions.itertuples():
        block = {1: "Act today", 2: "Prepare this week"}.get(int(action.priority_block), "Later")
        who = kit.name_of(names, action.owner_id)
        st.markdown(
            f"**{block} · #{action.rank}** for {kit.md(who)}: {kit.md(action.action)}  \n"
            f":gray[{kit.md(action.reason)} · {kit.md(fmt.money(action.revenue_at_stake_amount))} at stake]"
        )


def _activity(frames: kit.Frames, names: dict[str, str], as_of: object) -> None:
    st.subheader("Activity")
    interactions = frames["interactions"]
    if interactions.empty and tracking.load(frames).untracked("activities"):
        kit.empty(f"Calls, emails and meetings are {tracking.NOT_TRACKED} (source_coverage).")
    elif interactions.empty:
        kit.empty(
            "No call, email or meeting logged on this deal in the window deal_interactions keeps "
            "(the last `deal_interactions_days` days)."
        )
    else:
        st.dataframe(
            fmt.neutralize_formulas(interaction_table(interactions, names, as_of)),
            hide_index=True,
            width="stretch",
        )
