"""The RevOps dashboard: the served marts for the revenue team, one page per question.

Run it with `python -m dashboard` (or `streamlit run dashboard/app.py --server.address
127.0.0.1 --server.headless true`). It reads only the served file
`<REVOPS_SERVE_DIR>/revops.duckdb`, read-only and only for the length of a page load.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

# `streamlit run` puts this file's folder on sys.path, not the repository: make the
# `dashboard` and `revops` packages importable however the app is started.
_REPOSITORY = Path(__file__).resolve().parent.parent
if str(_REPOSITORY) not in sys.path:
    sys.path.insert(0, str(_REPOSITORY))

import streamlit as st  # noqa: E402

from dashboard import as_of  # noqa: E402
from dashboard.routes import ALIASES, HIDDEN, PAGES, PageSpec  # noqa: E402
from dashboard.sidebar import banner, publish_status  # noqa: E402


def page(spec: PageSpec, **options: object) -> st.Page:
    render = importlib.import_module(f"dashboard.{spec.module}").render
    return st.Page(render, title=spec.title, url_path=spec.url_path, icon=spec.icon or None, **options)


def pages() -> list[st.Page]:
    """The menu (the first page is the default, at `/`), then the hidden aliases and pages."""
    return [
        page(PAGES[0], default=True),
        *(page(spec) for spec in PAGES[1:]),
        *(page(spec, visibility="hidden") for spec in [*ALIASES, *HIDDEN]),
    ]


def main() -> None:
    st.set_page_config(page_title="RevOps", page_icon=":material/monitoring:", layout="wide")
    current = st.navigation(pages())
    status = publish_status()
    days, kept = as_of.picker()
    if current.url_path != "data-health":  # Data health says it at length
        banner(status)
    if not kept:  # ?as_of= names a day whose marts are not kept
        as_of.not_kept(days, current.title)
        return
    as_of.notice(days)
    current.run()


main()
