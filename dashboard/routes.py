"""Every page's address: the page list of `app.py` and the routes a browser can open directly.

Plain data (no Streamlit), so the browser test opens exactly the routes the app serves.

Streamlit serves the default page at `/` only (its url_path is ignored), so `/pipeline-health`
would be "Page not found"; and people type a page's title as its address (`/run-rate-hud`).
ALIASES are hidden pages that open the same page at those addresses.
"""

from __future__ import annotations

from typing import NamedTuple


class PageSpec(NamedTuple):
    module: str  # dashboard.<module>.render draws the page
    title: str
    url_path: str
    icon: str


PAGES = [
    PageSpec("pipeline_health", "Pipeline Health", "", ":material/monitor_heart:"),  # the default, at /
    PageSpec("plan_my_day", "Plan My Day", "plan-my-day", ":material/checklist:"),
    PageSpec("run_rate_hud", "Run-Rate HUD", "run-rate", ":material/speed:"),
    PageSpec("forecast", "Forecast", "forecast", ":material/query_stats:"),
    PageSpec("calibration", "Calibration", "calibration", ":material/target:"),
    PageSpec("team_dashboard", "Team Dashboard", "team", ":material/groups:"),
    PageSpec("data_health", "Data health", "data-health", ":material/fact_check:"),
]
ALIASES = [
    PageSpec("pipeline_health", "Pipeline Health", "pipeline-health", ""),
    PageSpec("run_rate_hud", "Run-Rate HUD", "run-rate-hud", ""),
    PageSpec("team_dashboard", "Team Dashboard", "team-dashboard", ""),
]
HIDDEN = [  # pages opened from another page, not from the menu
    PageSpec("deal_page", "Deal", "deal", ""),  # /deal?id=<opportunity_id>, from Pipeline Health's list
]

# every address that opens a page directly -> the page's title
ROUTES = {f"/{spec.url_path}": spec.title for spec in [*PAGES, *ALIASES]}
