"""The Monday review's one list: the drifting deals, ranked by risk score × amount.

A deal is drifting when deal_risk grades it medium or high. Each row says, in words, the
main reason (the largest of the four risk components) and, shorter, the others, with dates
relative to the marts' day ("passed 12 days ago") rather than ISO dates. The words are
built from deal_risk's own columns; nothing is recomputed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from dashboard import formatting as fmt

DRIFTING_LEVELS = ("medium", "high")
VISIBLE_ROWS = 8  # rows shown before the list scrolls, so the page below stays in reach
ROW_HEIGHT = 35  # Streamlit's data grid row height in px

# deal_risk component -> the part it scores (in the order a tie is broken)
COMPONENTS = ("stage_time_component", "close_date_component", "next_step_component", "activity_component")


def _present(value: Any) -> bool:
    return not fmt.is_missing(value)


def is_set(value: Any) -> bool:
    """A flag that is true (NULL, i.e. not tracked, is not set)."""
    return not fmt.is_missing(value) and bool(value)


def stage_time_words(deal: Any) -> str:
    typical = (
        "" if fmt.is_missing(deal.typical_stage_days) else f" (typical {round(deal.typical_stage_days)})"
    )
    return f"{fmt.days(deal.days_in_stage)} in {deal.stage_name}{typical}"


def activity_words(deal: Any, as_of: Any) -> str:
    quiet = f"No call, email or meeting for {fmt.plural(deal.business_days_since_last_interaction, 'business day')}"
    if fmt.is_missing(deal.last_interaction_date):
        return quiet + " (none logged)"
    kind = "" if fmt.is_missing(deal.last_interaction_type) else str(deal.last_interaction_type).lower() + " "
    return quiet + f" (last {kind}{fmt.relative_day(deal.last_interaction_date, as_of)})"


def next_step_words(deal: Any, as_of: Any) -> str:
    step = "" if fmt.is_missing(deal.next_step) else str(deal.next_step).strip()
    if not step:
        return "No next step"
    if fmt.is_missing(deal.next_step_date):
        return f'Next step "{step}" has no date'
    if fmt.as_date(deal.next_step_date) < fmt.as_date(as_of):
        return f'Next step "{step}" was due {fmt.relative_day(deal.next_step_date, as_of)}'
    return f'Next step "{step}" is too vague to count'


def close_date_words(deal: Any, as_of: Any) -> str:
    pushes = 0 if fmt.is_missing(deal.close_date_push_count) else int(deal.close_date_push_count)
    pushed = f"pushed {pushes} time" + ("" if pushes == 1 else "s") if pushes else ""
    if is_set(deal.is_close_date_past):
        text = f"Close date passed {fmt.relative_day(deal.close_date, as_of)}"
        return f"{text}, {pushed}" if pushed else text
    parts = []
    if is_set(deal.is_closing_soon_without_next_step):
        parts.append(f"Closes {fmt.relative_day(deal.close_date, as_of)} without a next step")
    if pushed:
        parts.append(("Close date " if not parts else "") + pushed)
    return ", ".join(parts) or "Close date at risk"


def component_words(component: str, deal: Any, as_of: Any) -> str:
    return {
        "stage_time_component": lambda: stage_time_words(deal),
        "activity_component": lambda: activity_words(deal, as_of),
        "next_step_component": lambda: next_step_words(deal, as_of),
        "close_date_component": lambda: close_date_words(deal, as_of),
    }[component]()


def reasons(deal: Any, as_of: Any) -> list[str]:
    """The deal's scoring components in words, the largest first (the main reason)."""
    scored = [(getattr(deal, c), -i, c) for i, c in enumerate(COMPONENTS) if _present(getattr(deal, c))]
    scored = [item for item in scored if item[0] > 0]
    return [component_words(c, deal, as_of) for _, _, c in sorted(scored, reverse=True)]


def deal_href(opportunity_id: Any) -> str:
    """The deal page's address, relative to the app (works at `/` and under a base path)."""
    return f"deal?id={quote(str(opportunity_id))}"


def drifting(deals: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The drifting deals as the list shows them, ranked by risk score × amount."""
    rows = deals[deals["risk_level"].isin(DRIFTING_LEVELS)].copy()
    rows["exposure"] = rows["risk_score"].astype(float) * rows["amount"].fillna(0).astype(float)
    rows = rows.sort_values(["exposure", "risk_score", "opportunity_id"], ascending=[False, False, True])
    words = [reasons(deal, as_of) for deal in rows.itertuples()]
    return pd.DataFrame(
        {
            "Deal": rows["opportunity_name"].fillna(rows["opportunity_id"]),
            "Open": [deal_href(o) for o in rows["opportunity_id"]],
            "Owner": rows["rep"],
            "Amount": rows["amount"],
            "Risk": rows["risk_score"],
            "Close date": [fmt.as_date(d) for d in rows["close_date"]],
            "Main reason": [w[0] if w else "" for w in words],
            "Also": [" · ".join(w[1:]) for w in words],
        }
    )


COLUMNS = {  # widths in px: at 1440 px wide, everything up to the main reason is in view
    "Deal": st.column_config.TextColumn(width=195, pinned=True),
    "Open": st.column_config.LinkColumn("Deal page", display_text="Open", width=70),
    "Owner": st.column_config.TextColumn(width=110),
    "Amount": st.column_config.NumberColumn(format="dollar", step=1, width=85),
    "Risk": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f", width=75),
    "Close date": st.column_config.DateColumn(format="MMM D, YYYY", width=100),
    "Main reason": st.column_config.TextColumn(width=330),
    "Also": st.column_config.TextColumn(width=600),
}


def render(deals: pd.DataFrame, as_of: Any, scope_label: str) -> pd.DataFrame:
    """The ranked list (or why it is empty); returns the rows shown."""
    listed = drifting(deals, as_of)
    if listed.empty:
        st.info(f"No drifting deals for {scope_label}: every open deal is low risk.", icon=":material/info:")
        return listed
    st.dataframe(
        fmt.neutralize_formulas(listed),
        hide_index=True,
        column_config=COLUMNS,
        width="stretch",
        height=ROW_HEIGHT * (min(len(listed), VISIBLE_ROWS) + 1) + 3,
        key="drifting_deals",
    )
    return listed
