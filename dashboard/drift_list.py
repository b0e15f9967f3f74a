"""The Monday review's one list: the drifting deals, ranked by risk score × amount.

A deal is drifting when deal_risk grades it medium or high. Each row shows the mart's words:
`main_reason` (the raised flag with the largest score component, days relative to the marts'
day: "Next step 22 days overdue") and `risk_reasons` (every reason). Nothing is worded or
recomputed here: every consumer of deal_risk reads the same sentences.
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
NO_MAIN_REASON = "No flag raised: the score adds up smaller parts (see the deal page)"


def main_reason(value: Any) -> str:
    """deal_risk's main_reason, or why there is none (NULL: no flag raised)."""
    return NO_MAIN_REASON if fmt.is_missing(value) else str(value)


def all_reasons(value: Any) -> str:
    """deal_risk's risk_reasons, one " · " between them (empty when nothing is wrong)."""
    return "" if fmt.is_missing(value) else " · ".join(r.strip() for r in str(value).split(";") if r.strip())


def deal_href(opportunity_id: Any, as_of: Any = None) -> str:
    """The deal page's address, relative to the app (works at `/` and under a base path); with
    `as_of` (a past day the page shows), the deal as of that day."""
    day = "" if as_of is None else f"&as_of={fmt.as_date(as_of).isoformat()}"
    return f"deal?id={quote(str(opportunity_id))}{day}"


def drifting(deals: pd.DataFrame, as_of: Any = None) -> pd.DataFrame:
    """The drifting deals as the list shows them, ranked by risk score × amount; `as_of`: the
    past day shown (the deal links keep it), None for the latest."""
    rows = deals[deals["risk_level"].isin(DRIFTING_LEVELS)].copy()
    rows["exposure"] = rows["risk_score"].astype(float) * rows["amount"].fillna(0).astype(float)
    rows = rows.sort_values(["exposure", "risk_score", "opportunity_id"], ascending=[False, False, True])
    return pd.DataFrame(
        {
            "Deal": rows["opportunity_name"].fillna(rows["opportunity_id"]),
            "Open": [deal_href(o, as_of) for o in rows["opportunity_id"]],
            "Owner": rows["rep"],
            "Amount": rows["amount"],
            "Risk": rows["risk_score"],
            "Close date": [fmt.as_date(d) for d in rows["close_date"]],
            "Main reason": [main_reason(r) for r in rows["main_reason"]],
            "All reasons": [all_reasons(r) for r in rows["risk_reasons"]],
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
    "All reasons": st.column_config.TextColumn(width=600),
}


def render(deals: pd.DataFrame, scope_label: str, as_of: Any = None) -> pd.DataFrame:
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
