"""Plan My Day: a rep's ranked actions for today, why each is there, and what is at stake.

Reads daily_action_list (block 1: act today; block 2: prepare this week; ranked by
revenue at stake) and dim_reps. The chosen rep is kept in the address (`?rep=<owner_id>`)
so a rep can bookmark their own list.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import tracking
from dashboard.served import ServedWarehouse

TABLES = ("marts.daily_action_list", "marts.dim_reps")
BLOCKS = {
    1: (
        "Act today",
        "Deals about to close without a next step, overdue follow-ups and new inbound leads.",
        "Nothing to act on today: no deal closes this week without a next step, no follow-up is overdue and no inbound lead came in.",
    ),
    2: (
        "Prepare this week",
        "Late-stage deals whose next step is due by Sunday.",
        "No late-stage deal has a next step due this week.",
    ),
}
ACTION_LABELS = {
    "closing_without_next_step": "Closing soon, no next step",
    "overdue_follow_up": "Overdue follow-up",
    "new_inbound_lead": "New inbound lead",
    "late_stage_next_step": "Late-stage next step",
}


def fetch(db: ServedWarehouse) -> kit.Frames:
    return {
        "reps": db.frame(
            "select owner_id, name, team, title, is_active, is_manager, manager_id from marts.dim_reps"
        ),
        "actions": db.frame("select * from marts.daily_action_list order by owner_id, rank"),
        "coverage": tracking.fetch(db),
        "as_of": db.frame(
            "select max(as_of_date) as as_of_date from marts.daily_action_list"
            + (
                " union all select max(as_of_date) from main.publish_log"
                if "main.publish_log" in db.tables()
                else ""
            )
        ),
    }


def action_detail(action: Any) -> str:
    """The line under an action: stage, amount x probability, dates."""
    if fmt.is_missing(action.opportunity_id):
        return "New lead, valued at the average open deal × the first stage's win probability"
    parts = []
    if not fmt.is_missing(action.stage_name):
        parts.append(str(action.stage_name))
    if not fmt.is_missing(action.amount):
        detail = fmt.money(action.amount)
        if not fmt.is_missing(action.probability):
            detail += f" × {fmt.share(action.probability)} win probability"
        parts.append(detail)
    if not fmt.is_missing(action.close_date):
        parts.append(f"closes {fmt.date(action.close_date)}")
    if not fmt.is_missing(action.next_step_date):
        parts.append(f"next step {fmt.date(action.next_step_date)}")
    return " · ".join(parts)


def rep_options(reps: pd.DataFrame, actions: pd.DataFrame) -> list[str]:
    """Active reps first by name; inactive reps only when they still have actions."""
    with_actions = set(actions["owner_id"])
    listed = reps[reps["is_active"].fillna(False).astype(bool) | reps["owner_id"].isin(with_actions)]
    return list(listed.sort_values("name")["owner_id"])


def render() -> None:
    frames = kit.load(fetch, TABLES)
    if frames is None:
        kit.page_header("Plan My Day", "What should I do first this morning?")
        return
    reps, actions = frames["reps"], frames["actions"]
    as_of = frames["as_of"]["as_of_date"].dropna()
    kit.page_header(
        "Plan My Day", "What should I do first this morning?", as_of.iloc[0] if not as_of.empty else None
    )
    tr = tracking.load(frames)
    tr.notice(
        ("activities", "leads", "next_step_date"),
        "The list leaves out the actions that need them.",
        uses={
            "activities": "overdue follow-ups",
            "leads": "new inbound leads",
            "next_step_date": "late-stage next steps due this week",
        },
    )
    options = rep_options(reps, actions)
    if not options:
        kit.empty("No reps in the served warehouse (marts.dim_reps is empty).")
        return
    names = kit.rep_names(reps)
    managers = set(reps.loc[reps["is_manager"].fillna(False).astype(bool), "owner_id"])
    owner = _chosen_rep(options, actions, names, managers)
    if owner is None:
        return
    if owner in managers:
        manager_view(owner, reps, actions, names)
        return
    mine = actions[actions["owner_id"] == owner].sort_values(["priority_block", "rank"])
    if mine.empty:
        kit.empty(
            f"No actions for {kit.name_of(names, owner)} today: no deal about to close is without a next step, "
            "no follow-up is overdue, no new inbound lead came in and no late-stage next step "
            "is due this week."
        )
        return
    _rep_summary(mine)
    for block in BLOCKS:
        _block(block, mine[mine["priority_block"] == block], tr)


def _chosen_rep(
    options: list[str], actions: pd.DataFrame, names: dict[str, str], managers: set[str]
) -> str | None:
    """The rep picker: the address's ?rep=, else the rep with the most actions today; kept in the address."""
    counts = actions[actions["priority_block"] == 1].groupby("owner_id").size().to_dict()
    unknown = None
    if st.session_state.get("plan_rep") not in options:  # a new visit: the address, else the busiest rep
        wanted = st.query_params.get("rep")
        if wanted is not None and wanted not in options:
            unknown = wanted
            st.session_state["plan_rep"] = None
        else:
            st.session_state["plan_rep"] = (
                wanted if wanted in options else next((o for o in options if counts.get(o)), options[0])
            )

    def label(owner_id: str) -> str:
        if owner_id in managers:
            return f"{kit.name_of(names, owner_id)} — manager: the team's actions"
        n = counts.get(owner_id, 0)
        return f"{kit.name_of(names, owner_id)} — {n} action" + ("" if n == 1 else "s") + " today"

    if unknown is not None:
        st.warning(
            f"No rep with the id {kit.code(unknown)} in the served marts (dim_reps): the address may be "
            "mistyped or the rep was removed from the CRM. Choose a rep below.",
            icon=":material/person_off:",
        )
    owner = st.selectbox("Rep", options, key="plan_rep", format_func=label, placeholder="Choose a rep")
    if owner is not None and st.query_params.get("rep") != owner:
        st.query_params["rep"] = owner  # bookmarkable: ?rep=<owner_id>
    return owner


def _rep_summary(mine: pd.DataFrame) -> None:
    """Actions and revenue at stake, today and this week, and the one action to start with."""
    cols = st.columns(4)
    for (col_count, col_amount), block in zip(((cols[0], cols[1]), (cols[2], cols[3])), BLOCKS):
        in_block = mine[mine["priority_block"] == block]
        col_count.metric(
            {1: "Actions today", 2: "Prepare this week"}[block], fmt.count(len(in_block)), border=True
        )
        col_amount.metric(
            {1: "At stake today", 2: "At stake this week"}[block],
            fmt.money(in_block["revenue_at_stake_amount"].sum()),
            help="Revenue at stake = amount × the deal's win probability",
            border=True,
        )
    top = mine.iloc[0]
    st.markdown(
        f"**Start with:** {kit.md(top.action)} — **{kit.md(fmt.money(top.revenue_at_stake_amount))}** at stake. "
        f"Why: {kit.md(top.reason)}"
    )


def _block(block: int, in_block: pd.DataFrame, tr: tracking.Tracking) -> None:
    title, explanation, none_text = BLOCKS[block]
    st.subheader(f"{block} · {title}")
    st.caption(explanation)
    if in_block.empty:
        if block == 2 and tr.untracked("next_step_date"):
            none_text = (
                f"Next-step dates are {tracking.NOT_TRACKED}, so no next step is known to be due this week."
            )
        kit.empty(none_text)
        return
    for action in in_block.itertuples():
        with st.container(border=True):
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.markdown(
                f"**#{action.rank} · {kit.md(action.action)}**  \n"
                f":gray-badge[{kit.md(ACTION_LABELS.get(action.action_type, action.action_type))}] "
                f"Why: {kit.md(action.reason)}  \n"
                f":gray[{kit.md(action_detail(action))}]"
            )
            right.markdown(
                f"**{kit.md(fmt.money(action.revenue_at_stake_amount))}**  \n:gray[at stake]",
                text_alignment="right",
            )


def team_of_manager(manager_id: str, reps: pd.DataFrame) -> list[str]:
    """Everyone who reports to the manager, directly or through another manager."""
    reports, frontier = [], [manager_id]
    while frontier:
        below = list(reps.loc[reps["manager_id"].isin(frontier), "owner_id"])
        below = [o for o in below if o not in reports and o != manager_id]
        reports += below
        frontier = below
    return reports


def manager_view(manager_id: str, reps: pd.DataFrame, actions: pd.DataFrame, names: dict[str, str]) -> None:
    """A manager's page: the team's actions grouped by rep, the busiest today first."""
    team = team_of_manager(manager_id, reps)
    theirs = actions[actions["owner_id"].isin(team)]
    manager = kit.name_of(names, manager_id)
    if theirs.empty:
        kit.empty(f"No actions today for the {len(team)} people who report to {manager}.")
        return
    today = theirs[theirs["priority_block"] == 1]
    cols = st.columns(3)
    cols[0].metric("Team actions today", fmt.count(len(today)), border=True)
    cols[1].metric("At stake today", fmt.money(today["revenue_at_stake_amount"].sum()), border=True)
    cols[2].metric("Reps with actions", fmt.count(theirs["owner_id"].nunique()), border=True)
    summary = (
        theirs.assign(today=theirs["priority_block"] == 1)
        .groupby("owner_id")
        .agg(
            today=("today", "sum"),
            week=("today", lambda v: int((~v).sum())),
            at_stake=("revenue_at_stake_amount", "sum"),
        )
        .reset_index()
        .sort_values(["today", "at_stake"], ascending=False)
    )
    st.subheader(f"{manager}'s team, by rep")
    for rep in summary.itertuples():
        mine = theirs[theirs["owner_id"] == rep.owner_id].sort_values(["priority_block", "rank"])
        title = (
            f"{kit.name_of(names, rep.owner_id)} — {int(rep.today)} today, {int(rep.week)} this week, "
            f"{fmt.money(rep.at_stake)} at stake"
        )
        with st.expander(kit.md(title), expanded=rep.Index == summary.index[0]):
            for action in mine.itertuples():
                block = BLOCKS[int(action.priority_block)][0]
                st.markdown(
                    f"**{block} · #{action.rank} · {kit.md(action.action)}** — "
                    f"{kit.md(fmt.money(action.revenue_at_stake_amount))}  \n:gray[Why: {kit.md(action.reason)}]"
                )
