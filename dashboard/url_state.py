"""Filters in the address (`?team=East&rep=005...&period=QTD`), so a view can be shared.

A widget reads its first value from the address (`initial`, before the widget is drawn) and
writes its value back after every change (`keep`). The parameters: `team` (a team name),
`rep` (an owner_id), `period` (the page's period: MTD/QTD/YTD on the Run-Rate HUD, a quarter's
first day on the Team Dashboard, month/quarter on the Forecast), `id` (the deal page's
opportunity_id). A value the page does not offer is ignored (the page's default shows) and
`unknown` says which value was not found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dashboard import formatting as fmt


def as_param(value: Any) -> str | None:
    """What a value looks like in the address: dates as ISO days, the rest as text."""
    if fmt.is_missing(value):
        return None
    if isinstance(value, dt.date) or hasattr(value, "to_pydatetime") or type(value).__name__ == "datetime64":
        return fmt.as_date(value).isoformat()
    return str(value)


def wanted(param: str) -> str | None:
    return st.query_params.get(param)


def initial(key: str, param: str, options: Sequence[Any]) -> bool:
    """On a new visit, set the widget `key` to the option the address names under `param`.

    True when the address names a value that is not among the options (the caller may say so).
    Call before drawing the widget, and draw it without `index`/`value` (the session state has it).
    """
    if key in st.session_state and st.session_state[key] in list(options):
        return False
    text = wanted(param)
    match = next((o for o in options if as_param(o) == text), None) if text is not None else None
    if match is not None:
        st.session_state[key] = match
        return False
    st.session_state.pop(key, None)
    return text is not None


def keep(**params: Any) -> None:
    """Write the shown values to the address; None removes a parameter."""
    for name, value in params.items():
        text = as_param(value)
        if text is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != text:
            st.query_params[name] = text
