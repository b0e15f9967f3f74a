"""The RevOps dashboard: the served marts for the revenue team, one page per question.

Run it with `python -m dashboard` (or `streamlit run dashboard/app.py --server.address
127.0.0.1 --server.headless true`). It reads only the served file
`<REVOPS_SERVE_DIR>/revops.duckdb`, read-only and only for the length of a page load.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts this file's folder on sys.path, not the repository: make the
# `dashboard` and `revops` packages importable however the app is started.
_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))

import streamlit as st  # noqa: E402

from dashboard import (  # noqa: E402
    calibration,
    data_health,
    forecast,
    pipeline_health,
    plan_my_day,
    run_rate_hud,
    team_dashboard,
)
from dashboard.sidebar import publish_status  # noqa: E402

PAGES = [
    st.Page(
        pipeline_health.render,
        title="Pipeline Health",
        url_path="pipeline-health",
        icon=":material/monitor_heart:",
        default=True,
    ),
    st.Page(plan_my_day.render, title="Plan My Day", url_path="plan-my-day", icon=":material/checklist:"),
    st.Page(run_rate_hud.render, title="Run-Rate HUD", url_path="run-rate", icon=":material/speed:"),
    st.Page(forecast.render, title="Forecast", url_path="forecast", icon=":material/query_stats:"),
    st.Page(calibration.render, title="Calibration", url_path="calibration", icon=":material/target:"),
    st.Page(team_dashboard.render, title="Team Dashboard", url_path="team", icon=":material/groups:"),
    st.Page(data_health.render, title="Data health", url_path="data-health", icon=":material/fact_check:"),
]


def main() -> None:
    st.set_page_config(page_title="RevOps", page_icon=":material/monitoring:", layout="wide")
    page = st.navigation(PAGES)
    publish_status()
    page.run()


main()
