"""The Calibration page in a real headless Chromium, against the demo warehouse published
into a temporary serve folder (tests/dashboard/dashboard_harness.py): it loads, shows both
Brier scores and the per-stage misses as read here from probability_calibration, says
whose probabilities were closer, draws the reliability chart and shows no error box.
"""

from __future__ import annotations

import pytest
from dashboard_harness import (
    browser_missing,
    error_boxes,
    open_page,
    publish_demo,
    read_served,
    save_screenshot,
    start_browser,
    start_dashboard,
    stop_browser,
)

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")


@pytest.fixture(scope="module")
def serve_dir(demo_warehouse, tmp_path_factory):
    serve = tmp_path_factory.mktemp("calibration_serve")
    publish_demo(demo_warehouse.warehouse_path, serve, demo_warehouse.as_of_date)
    return serve


@pytest.fixture(scope="module")
def server(serve_dir, tmp_path_factory):
    server = start_dashboard(serve_dir, tmp_path_factory.mktemp("calibration_logs"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    stop_browser(driver)


def test_calibration_page_shows_the_brier_scores_of_the_mart(server, browser, serve_dir):
    from dashboard.calibration import brier

    scores = dict(
        read_served(
            serve_dir,
            "select probability_source, brier_score from marts.probability_calibration "
            "where stage_name = 'all' and bin = 'all' and status = 'ok'",
        )
    )
    assert set(scores) == {"calibrated", "crm"}, "the demo tracks the CRM probability: both sources measured"
    per_stage = read_served(
        serve_dir,
        "select stage_name, probability_source, brier_score from marts.probability_calibration "
        "where stage_name <> 'all' and bin = 'all' and status = 'ok'",
    )
    assert per_stage, "the demo has measured deals in some stage"

    text = open_page(browser, f"{server.url}/calibration")
    save_screenshot(browser, "calibration")

    ours, theirs = brier(scores["calibrated"]), brier(scores["crm"])
    assert ours in text and theirs in text, (ours, theirs, text[:2000])
    closer = (
        "Our probabilities were closer"
        if scores["calibrated"] < scores["crm"]
        else "probabilities were closer"
    )
    assert closer in text
    assert f"**{ours}**" not in text, "Markdown rendered, not shown raw"
    for stage, _source, score in per_stage:
        assert stage in text
        assert brier(score) in text, (stage, brier(score))
    charts = browser.find_elements("css selector", '[data-testid="stVegaLiteChart"], .vega-embed')
    assert charts, "the reliability chart is drawn"
    assert not error_boxes(browser), f"Streamlit error boxes: {error_boxes(browser)}"
    assert "Traceback" not in server.log(), server.log()[-4000:]
