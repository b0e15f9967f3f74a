"""One deal (`/deal?id=<opportunity_id>`): where it stands, why it is flagged, what to do.

Opened from Pipeline Health's ranked list. Reads dim_deals (the deal), deal_risk (every risk
flag with its reason, and the last interaction: the interactions themselves are not a
published mart), fct_stage_history (the stage timeline), daily_action_list (the deal's row in
its owner's plan, if any) and dim_reps. Links to the CRM record when REVOPS_CRM_RECORD_URL is
set (dashboard/settings.py).
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import drift_list, url_state
from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard.served import ServedWarehouse
from dashboard.settings import DashboardSettingError, DashboardSettings

TABLES = (
    "marts.dim_deals",
    "marts.deal_risk",
    "marts.fct_stage_history",
    "marts.daily_action_list",
    "marts.dim_reps",
)

# deal_risk flag -> (what it says when set, the column that must be true for it)
FLAGS = {
    "is_stalled": "Stalled: in its stage more than twice the typical time",
    "is_inactive": "Inactive: no call, email or meeting for 5 business days or more",
    "has_next_step": "No usable next step",
    "is_close_date_past": "Close date has passed",
    "is_closing_soon_without_next_step": "Closes within 30 days without a next step",
    "is_floating": "Floating: 21+ days in stage, no recent interaction and no next step",
    "is_assumed_follow_up": "Assumed follow-up: the last call or meeting was 3+ business days ago, no next step",
    "is_optimism_hold": "Optimism hold: no change and no interaction in 14 days",
}
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
        }

    return fetch


def flag_rows(risk: Any, as_of: Any) -> list[tuple[str, str]]:
    """(flag, its reason in words) for every flag deal_risk sets on the deal."""
    rows = []
    for flag, label in FLAGS.items():
        value = getattr(risk, flag, None)
        if fmt.is_missing(value):
            continue
        raised = not drift_list.is_set(value) if flag == "has_next_step" else drift_list.is_set(value)
        if not raised:
            continue
        why = {
            "is_stalled": lambda: drift_list.stage_time_words(risk),
            "is_inactive": lambda: drift_list.activity_words(risk, as_of),
            "has_next_step": lambda: drift_list.next_step_words(risk, as_of),
            "is_close_date_past": lambda: drift_list.close_date_words(risk, as_of),
            "is_closing_soon_without_next_step": lambda: f"Closes {fmt.relative_day(risk.close_date, as_of)}",
        }.get(flag, lambda: "")()
        rows.append((label, why))
    pushes = getattr(risk, "close_date_push_count", None)
    if not fmt.is_missing(pushes) and int(pushes) > 0:
        rows.append(("Close date pushed", fmt.plural(pushes, "time")))
    return rows


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
    deal_rows, risk_rows, stages, actions, reps = (
        frames[k] for k in ("deal", "risk", "stages", "actions", "reps")
    )
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

    try:
        settings = DashboardSettings.from_env()
    except DashboardSettingError as error:
        st.warning(kit.md(error), icon=":material/link_off:")
        settings = DashboardSettings()
    link = settings.crm_link(opportunity_id)
    owner = kit.name_of(names, deal["owner_id"])
    stage = deal["stage_name"]
    facts = [
        f"**{kit.md(fmt.money(deal['amount']))}**",
        kit.md(stage),
        f"owner **{kit.md(owner)}**" + ("" if fmt.is_missing(deal["team"]) else f" ({kit.md(deal['team'])})"),
        f"closes {kit.md(fmt.date(deal['close_date']))} ({fmt.relative_day(deal['close_date'], as_of)})",
    ]
    st.markdown(" · ".join(facts) + (f" · [Open in the CRM]({link})" if link else ""))
    if not link:
        st.caption(
            "Set `REVOPS_CRM_RECORD_URL` (e.g. `https://acme.my.salesforce.com/{id}`) to link to the CRM record."
        )

    left, right = st.columns([3, 2])
    with left:
        st.subheader("Why it is flagged")
        if risk_rows.empty:
            state = "won" if deal["is_won"] else ("closed" if deal["is_closed"] else "not scored")
            kit.empty(f"This deal is {state}: deal_risk scores open deals only.")
        else:
            risk = next(risk_rows.itertuples())
            st.markdown(
                f"Risk score **{fmt.count(round(risk.risk_score))}** of 100 ({kit.md(risk.risk_level)})"
            )
            flags = flag_rows(risk, as_of)
            if flags:
                st.markdown(
                    "\n".join(
                        f"- **{kit.md(label)}**" + (f": {kit.md(why)}" if why else "") for label, why in flags
                    )
                )
            else:
                st.markdown("No risk flag is raised.")
            parts = [
                f"{label} {fmt.count(getattr(risk, column))}"
                for column, label in COMPONENT_LABELS.items()
                if not fmt.is_missing(getattr(risk, column))
            ]
            st.caption("Score parts (of 25 each): " + ", ".join(parts))
            last = (
                "none logged"
                if fmt.is_missing(risk.last_interaction_date)
                else f"{str(risk.last_interaction_type or 'interaction').lower()} "
                f"{fmt.relative_day(risk.last_interaction_date, as_of)} ({fmt.date(risk.last_interaction_date)})"
            )
            st.markdown(f"**Last interaction:** {kit.md(last)}")
            st.caption(
                "Only the last interaction is shown: the calls, emails and meetings themselves are not "
                "a published mart."
            )
    with right:
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

    st.subheader("Stage timeline")
    if stages.empty:
        kit.empty("No stage history for this deal (fct_stage_history).")
        return
    kit.chart(timeline_chart(stages, as_of))
    st.dataframe(stage_table(stages, as_of), hide_index=True, width="stretch")
