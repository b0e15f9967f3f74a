"""The RevOps dashboard (Streamlit): the served marts as the pages a revenue team opens daily.

`run_dashboard(port=8501, host="127.0.0.1")` serves it; `python -m dashboard` does the same
from a shell. Pages: Pipeline Health, Plan My Day, Run-Rate HUD, Forecast, Team Dashboard,
Data health.
"""

from dashboard.launcher import run_dashboard, streamlit_command

__all__ = ["run_dashboard", "streamlit_command"]
