"""The dashboard on publishes built from CRM data as real sources give it, in real Chromium.

Three small builds through the real pipeline (real_crm_builds.py, once per session): a
landing folder without tasks, events, quotas and next-step dates; the Fivetran Salesforce
schema; the HubSpot schema. Every page loads without an error box on each; on the first,
the numbers that need the missing inputs read "not tracked in your CRM" (with the mart's
reason where it gives one) instead of a dash, a 0 or a red status, and Data health lists
what the CRM tracks, untracked first. A publish from before source_coverage existed still
loads and says so.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
from dashboard_harness import (
    browser_missing,
    error_boxes,
    open_page,
    read_served,
    save_screenshot,
    start_browser,
    start_dashboard,
    stop_browser,
)
from real_crm_builds import build

PAGES = {
    "": "Pipeline Health",
    "plan-my-day": "Plan My Day",
    "run-rate": "Run-Rate HUD",
    "forecast": "Forecast",
    "team": "Team Dashboard",
    "data-health": "Data health",
}
NOT_TRACKED = "not tracked in your CRM"


@pytest.fixture(scope="session")
def real_crm_work(tmp_path_factory):
    return tmp_path_factory.mktemp("real_crms")


@pytest.fixture(scope="session")
def untracked_serve(real_crm_work):
    return build("untracked", real_crm_work)


@pytest.fixture(scope="session")
def fivetran_serve(real_crm_work):
    return build("fivetran_salesforce", real_crm_work)


@pytest.fixture(scope="session")
def hubspot_serve(real_crm_work):
    return build("hubspot", real_crm_work)


# --------------------------------------------------------------------------- tracking.py, without a browser


from dashboard import formatting as fmt  # noqa: E402 - after dashboard_harness put the repository on sys.path


def coverage_of(serve_dir):
    from dashboard import served, tracking

    with served.open_served(served.served_path(serve_dir)) as db:
        return tracking.Tracking(tracking.fetch(db))


def test_tracking_names_what_the_landing_folder_left_out(untracked_serve):
    tr = coverage_of(untracked_serve)
    assert tr.recorded and tr.source == "salesforce_files"
    assert {p.key for p in tr.untracked_parts()} == {"activities", "quotas", "next_step_date"}
    assert tr.untracked_columns("opportunity") == ["next_step_date_c"]
    assert tr.text(None, fmt.money, "quotas") == NOT_TRACKED
    assert tr.text(None, fmt.money, "leads") == fmt.MISSING  # tracked: unknown for another reason
    assert tr.text(1200, fmt.money, "quotas") == "$1,200"


def test_tracking_on_the_fivetran_salesforce_shape(fivetran_serve):
    tr = coverage_of(fivetran_serve)
    assert tr.source == "fivetran_salesforce"
    assert not {"activities", "quotas", "next_step_date"} & {p.key for p in tr.untracked_parts()}


# --------------------------------------------------------------------------- the pages


def _server(serve_dir, tmp_path_factory):
    return start_dashboard(serve_dir, tmp_path_factory.mktemp("dashboard_logs"))


@pytest.fixture(scope="module")
def browser():
    if browser_missing():
        pytest.skip(browser_missing())
    driver = start_browser()
    yield driver
    stop_browser(driver)


@pytest.fixture(scope="module")
def untracked_server(untracked_serve, tmp_path_factory):
    server = _server(untracked_serve, tmp_path_factory)
    yield server
    server.stop()


def assert_loads(driver, server, path: str) -> str:
    text = open_page(driver, f"{server.url}/{path}")
    assert PAGES[path] in text
    assert not error_boxes(driver), f"{path or '/'}: Streamlit error boxes: {error_boxes(driver)}"
    assert "Traceback" not in server.log(), server.log()[-4000:]
    assert "nan" not in text.split(), f"{path or '/'} prints nan"
    return text


def test_pipeline_health_says_what_is_not_tracked(untracked_server, browser, untracked_serve):
    reason = read_served(
        untracked_serve,
        "select unknown_reason from marts.revops_health where rollup_level = 'company' and metric = 'pipeline_coverage'",
    )[0][0]
    text = assert_loads(browser, untracked_server, "")
    save_screenshot(browser, "pipeline-health-untracked", publish=False)
    assert "Your CRM does not track activities (tasks and events)" in text
    assert f"inactive {NOT_TRACKED}" in text and f"floating {NOT_TRACKED}" in text
    assert "Inactive (not tracked)" in text and "Inactive (0)" not in text
    assert f"Pipeline coverage\nUnknown: {reason.replace('the CRM', 'your CRM')}" in text
    assert "Risk scores are out of the 75 points of 100" in text


def test_run_rate_says_quotas_are_not_tracked(untracked_server, browser):
    text = assert_loads(browser, untracked_server, "run-rate")
    assert text.count(f"Target: {NOT_TRACKED} (no quotas)") == 3  # MTD, QTD, YTD
    assert "Quotas not tracked" in text and "Behind" not in text
    assert f"Quotas are {NOT_TRACKED}, so there is no target to pace against" in text


def test_forecast_says_quotas_and_the_committed_basis(untracked_server, browser, untracked_serve):
    basis = {
        r[0] for r in read_served(untracked_serve, "select distinct committed_basis from marts.forecast")
    }
    assert basis == {"forecast_category"}
    text = assert_loads(browser, untracked_server, "forecast")
    save_screenshot(browser, "forecast-untracked")
    assert "Committed = deals the CRM forecasts as Commit (next-step dates not tracked)" in text
    assert f"Coverage: quotas {NOT_TRACKED}, so there is no target to cover" in text
    assert "Committed (the CRM's Commit category)" in text
    assert "no target set" not in text and "—" not in text


def test_team_dashboard_says_attainment_is_not_tracked(untracked_server, browser):
    text = assert_loads(browser, untracked_server, "team")
    assert f"Attainment\n{NOT_TRACKED}" in text
    assert f"(target: quotas {NOT_TRACKED})" in text and "of $0 target" not in text


def test_plan_my_day_says_what_it_cannot_list(untracked_server, browser):
    text = assert_loads(browser, untracked_server, "plan-my-day")
    assert "Your CRM does not track activities (tasks and events), used for overdue follow-ups" in text


def test_data_health_lists_what_the_crm_tracks(untracked_server, browser):
    text = assert_loads(browser, untracked_server, "data-health")
    save_screenshot(browser, "data-health-untracked")
    assert "What your CRM tracks" in text
    assert "Source: Salesforce export files (landing folder)" in text
    section = text[text.index("What your CRM tracks") : text.index("Rows per mart")]
    for untracked in ("Tasks (calls and emails)", "Events (meetings)", "Quotas"):
        assert f"{untracked}\nNot tracked" in section or f"{untracked}\tNot tracked" in section, section
    assert "next-step date" in section
    # untracked first, then partly tracked, then tracked
    assert section.index("Tasks (calls and emails)") < section.index("Opportunities (deals)\nPartly tracked")
    assert section.index("Partly tracked") < section.index("Accounts\nTracked")


def test_an_older_publish_without_source_coverage(untracked_serve, browser, tmp_path):
    from revops.publish import served_path

    serve = tmp_path / "serve"
    serve.mkdir()
    shutil.copyfile(served_path(untracked_serve), served_path(serve))
    with duckdb.connect(str(served_path(serve))) as con:
        con.execute("drop table marts.source_coverage")
    server = start_dashboard(serve, tmp_path)
    try:
        text = assert_loads(browser, server, "data-health")
        assert "does not say what the CRM tracks (it has no source_coverage mart" in text
        text = assert_loads(browser, server, "")
        # the marts' own reasons still show
        assert "Unknown: quotas not tracked in your CRM" in text
    finally:
        server.stop()


@pytest.mark.parametrize("shape", ["fivetran_salesforce", "hubspot"])
def test_every_page_loads_on_a_connector_shape(shape, browser, request, tmp_path):
    serve = request.getfixturevalue("fivetran_serve" if shape == "fivetran_salesforce" else "hubspot_serve")
    server = start_dashboard(serve, tmp_path)
    try:
        for path in PAGES:
            text = assert_loads(browser, server, path)
            if path == "data-health":
                label = {
                    "fivetran_salesforce": "Salesforce, loaded by Fivetran",
                    "hubspot": "HubSpot, loaded by Fivetran",
                }
                assert f"Source: {label[shape]}" in text
            if path == "":
                assert "Open deals" in text
    finally:
        server.stop()
