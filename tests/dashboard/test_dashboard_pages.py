"""Every dashboard page in a real headless Chromium, against a real served warehouse.

The demo warehouse (tests/conftest.py, built once per session with dbt) is published
with `revops.publish` into a temporary serve folder; Streamlit serves the dashboard on a
free 127.0.0.1 port in its own process group; selenium drives Debian's chromium. For each
page: it loads, shows the headline figures read here from the marts (formatted as the
dashboard formats them), names reps rather than ids, and shows no Streamlit error box.
A screenshot of each page goes to test-artifacts/dashboard/ and docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
from dashboard_harness import (
    SIDEBAR,
    VIEWPORT,
    browser_missing,
    error_boxes,
    grid,
    listening_addresses,
    open_heading,
    open_page,
    past_day_warehouse,
    pick_in_sidebar,
    publish_demo,
    read_served,
    save_screenshot,
    selected_option,
    start_browser,
    start_dashboard,
    stop_browser,
)

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")


PAST_DAY_OFFSET = dt.timedelta(days=7)
PAST_DAY_DROPPED_HIGH_RISK = 3  # the past day's stand-in has 3 high-risk deals fewer


@pytest.fixture(scope="module")
def serve_dir(demo_warehouse, tmp_path_factory):
    """Two kept days: an earlier day (a copy of the demo's marts, see `past_day_warehouse`), then
    the demo's day, the latest, which every other test reads."""
    serve = tmp_path_factory.mktemp("dashboard_serve")
    past = past_day_warehouse(
        demo_warehouse.warehouse_path,
        tmp_path_factory.mktemp("dashboard_past_day") / "build.duckdb",
        demo_warehouse.as_of_date - PAST_DAY_OFFSET,
        PAST_DAY_DROPPED_HIGH_RISK,
    )
    publish_demo(past, serve, demo_warehouse.as_of_date - PAST_DAY_OFFSET)
    past.unlink()
    publish_demo(demo_warehouse.warehouse_path, serve, demo_warehouse.as_of_date)
    return serve


@pytest.fixture(scope="module")
def kept(serve_dir):
    """The kept days, newest first: (the latest, the past day)."""
    from revops.publish.served import kept_days

    days = kept_days(serve_dir)
    assert [d.is_current for d in days] == [True, False], days
    return days


@pytest.fixture(scope="module")
def server(serve_dir, tmp_path_factory):
    server = start_dashboard(serve_dir, tmp_path_factory.mktemp("dashboard_logs"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    stop_browser(driver)


@pytest.fixture(scope="module")
def rep_ids(serve_dir) -> dict[str, str]:
    return dict(read_served(serve_dir, "select owner_id, name from marts.dim_reps"))


def fmt():
    from dashboard import formatting

    return formatting


def assert_healthy_page(driver, text: str, rep_ids: dict[str, str], server) -> None:
    assert not error_boxes(driver), f"Streamlit error boxes: {error_boxes(driver)}"
    shown_ids = [owner_id for owner_id in rep_ids if owner_id in text]
    assert not shown_ids, f"rep ids instead of names on the page: {shown_ids}"
    assert "Traceback" not in server.log(), server.log()[-4000:]


def test_the_server_listens_on_loopback_only(server):
    assert listening_addresses(server.port) == {"127.0.0.1"}


def test_pipeline_health(server, browser, serve_dir, rep_ids):
    f = fmt()
    deals, amount, rate, stalled, past = read_served(
        serve_dir,
        "select open_deal_count, open_amount, next_step_rate, stalled_count, close_date_past_count "
        "from marts.pipeline_hygiene where rollup_level = 'company'",
    )[0]
    high, high_amount = read_served(
        serve_dir, "select count(*), sum(amount) from marts.deal_risk where risk_level = 'high'"
    )[0]
    text = open_page(browser, f"{server.url}/")
    save_screenshot(browser, "pipeline-health")
    assert "Pipeline Health" in text
    for expected in (f.count(deals), f.money(amount), f.share(rate, 1), f.count(high), f.money(high_amount)):
        assert expected in text, f"{expected!r} not on the page"
    assert f"Stalled ({stalled})" in text and f"Past close date ({past})" in text
    # the company's cards are the metric layer's answers (equal to the mart's, asserted above)
    assert "the metric layer (mf query --saved-query open_pipeline_headlines)" in text
    assert "Metric layer unavailable" not in text
    assert "Hygiene trend" in text and "Revenue-engine health" in text
    assert "The last run failed" not in text and "The marts are stale" not in text, "no banner: fresh"
    assert_healthy_page(browser, text, rep_ids, server)


def test_plan_my_day_for_the_busiest_rep(server, browser, serve_dir, rep_ids):
    f = fmt()
    owner_id, today = read_served(
        serve_dir,
        "select owner_id, count(*) filter (where priority_block = 1) from marts.daily_action_list "
        "where owner_id not in (select owner_id from marts.dim_reps where is_manager) "
        "group by 1 order by 2 desc, 1 limit 1",
    )[0]
    week = read_served(
        serve_dir,
        "select count(*) from marts.daily_action_list where owner_id = ? and priority_block = 2",
        [owner_id],
    )[0][0]
    top_action, top_at_stake, top_reason = read_served(
        serve_dir,
        "select action, revenue_at_stake_amount, reason from marts.daily_action_list "
        "where owner_id = ? order by priority_block, rank limit 1",
        [owner_id],
    )[0]
    today_at_stake = read_served(
        serve_dir,
        "select sum(revenue_at_stake_amount) from marts.daily_action_list where owner_id = ? and priority_block = 1",
        [owner_id],
    )[0][0]
    text = open_page(browser, f"{server.url}/plan-my-day?rep={owner_id}")
    save_screenshot(browser, "plan-my-day")
    assert f"{rep_ids[owner_id]} — {today} actions today" in selected_option(browser)
    # "Actions today" counts block 1 only, as the blocks below do (issue 15)
    assert f"Actions today\n{f.count(today)}\n" in text and f"Prepare this week\n{f.count(week)}\n" in text
    assert f"#1 · {top_action}" in text
    assert f"Why: {top_reason}" in text and not re.search(r"\d{4}-\d{2}-\d{2}", top_reason), top_reason
    assert f.money(top_at_stake) in text and f.money(today_at_stake) in text
    assert "Act today" in text and "Prepare this week" in text and "Why:" in text
    assert_healthy_page(browser, text, rep_ids, server)


def test_plan_my_day_for_an_unknown_rep_and_for_a_manager(server, browser, serve_dir, rep_ids):
    text = open_page(browser, f"{server.url}/plan-my-day?rep=no-such-rep")
    assert "No rep with the id no-such-rep" in text
    assert "#1 ·" not in text, "someone else's list is not shown for an unknown rep"
    manager_id, manager, team_today = read_served(
        serve_dir,
        "select m.owner_id, m.name, count(*) filter (where a.priority_block = 1) from marts.dim_reps m "
        "join marts.dim_reps r on r.manager_id = m.owner_id "
        "join marts.daily_action_list a on a.owner_id = r.owner_id "
        "where m.is_manager and m.manager_id is not null group by 1, 2 order by 1 limit 1",
    )[0]
    text = open_page(browser, f"{server.url}/plan-my-day?rep={manager_id}")
    assert f"{manager}'s team, by rep" in text
    assert f"Team actions today\n{team_today}\n" in text
    assert "0 actions" not in selected_option(browser), "a manager is not a rep with 0 actions"
    assert_healthy_page(browser, text, rep_ids, server)


def test_plan_my_day_says_why_a_rep_has_nothing(server, browser, serve_dir, rep_ids):
    idle = read_served(
        serve_dir,
        "select owner_id, name from marts.dim_reps where is_active and not is_manager "
        "and owner_id not in (select owner_id from marts.daily_action_list) order by name limit 1",
    )
    if not idle:
        pytest.skip("every active rep has actions in this demo")
    owner_id, name = idle[0]
    text = open_page(browser, f"{server.url}/plan-my-day?rep={owner_id}")
    assert f"No actions for {name} today" in text
    assert_healthy_page(browser, text, rep_ids, server)


def test_run_rate_hud(server, browser, serve_dir, rep_ids):
    f = fmt()
    rows = read_served(
        serve_dir,
        "select period, closed_won_amount, target_amount, pacing_rate, projected_amount, pace_status, "
        "projected_status from marts.run_rate where rollup_level = 'company' order by period",
    )
    text = open_page(browser, f"{server.url}/run-rate")
    save_screenshot(browser, "run-rate-hud")
    from dashboard.run_rate_hud import PROJECTED, STATUS

    for period, closed, target, pacing, projected, pace_status, projected_status in rows:
        assert f"Pace: {STATUS[pace_status][0]}" in text, period
        assert f"Projected: {PROJECTED[projected_status][0]}" in text, period
        label = {"MTD": "Month to date", "QTD": "Quarter to date", "YTD": "Year to date"}[period]
        assert label in text
        for expected in (
            f.money(closed),
            f"Target {f.money(target)}",
            f"Pacing {f.share(pacing)}",
            f"projected {f.money(projected)}",
        ):
            assert expected in text, f"{period}: {expected!r} not on the page"
    assert "Who is on pace" in text
    assert_healthy_page(browser, text, rep_ids, server)


def test_forecast(server, browser, serve_dir, rep_ids):
    f = fmt()
    rows = read_served(
        serve_dir,
        "select period_type, period_start, call_amount, coverage_ratio, weighted_pipeline_amount, "
        "committed_amount, slipped_amount, slipped_count, calibrated_call_amount "
        "from marts.forecast where rollup_level = 'company'",
    )
    records = read_served(
        serve_dir,
        "select period_type, method, max(mape), max(error_period_count) from marts.forecast_backtest "
        "where rollup_level = 'company' and mape is not null group by 1, 2",
    )
    trend_today = read_served(
        serve_dir,
        "select call_amount from marts.forecast_trend where rollup_level = 'company' and period_type = 'month' "
        "and snapshot_date = as_of_date",
    )
    start, end = read_served(
        serve_dir,
        "select max(case when movement = 'start' then amount end), max(case when movement = 'end' then amount end) "
        "from marts.pipeline_waterfall where rollup_level = 'company' and period = 'month' "
        "and \"window\" = 'last_7_days'",
    )[0]
    within, scored = read_served(
        serve_dir,
        "select count(*) filter (where is_within_healthy_band), count(variance_rate) from marts.forecast_accuracy "
        "where rollup_level = 'company' and period_type = 'month'",
    )[0]
    text = open_page(browser, f"{server.url}/forecast")
    save_screenshot(browser, "forecast")
    for (
        period_type,
        period_start,
        call,
        coverage,
        weighted,
        committed,
        slipped,
        slipped_count,
        calibrated,
    ) in rows:
        label = f.period_label(period_type, period_start)
        assert f"{label}: coverage {f.ratio(coverage)}, weighted pipeline {f.money(weighted)}" in text
        for expected in (
            f.money(call),
            f.money(committed),
            f"{f.money(slipped)} in {f.count(slipped_count)} deals",
            f.money(calibrated),
        ):
            assert expected in text, f"{label}: {expected!r} not on the page"
    assert "Two calls, and how good each has been" in text
    assert records, "forecast_backtest scored no period on the demo"
    for period_type, _method, mape, periods in records:
        assert f"missed by {f.share(mape)} on average over {periods} closed {period_type}s" in text
    assert trend_today and f"to {f.money(trend_today[0][0])} today" in text
    assert "How the pipeline moved" in text
    assert f"open pipeline {f.money(start)} → {f.money(end)}" in text
    assert f"Within ±15% in {within} of {scored} closed months" in text
    assert_healthy_page(browser, text, rep_ids, server)


def test_team_dashboard(server, browser, serve_dir, rep_ids):
    f = fmt()
    won, closed, won_amount, target = read_served(
        serve_dir,
        "select sum(won_count), sum(closed_count), sum(closed_won_amount), sum(target_amount) "
        "from marts.rep_scorecards where quarter_start = (select max(quarter_start) from marts.rep_scorecards)",
    )[0]
    top_rep, top_attainment = read_served(
        serve_dir,
        "select r.name, s.attainment_rate from marts.rep_scorecards s join marts.dim_reps r using (owner_id) "
        "where s.quarter_start = (select max(quarter_start) from marts.rep_scorecards) "
        "and s.attainment_rate is not null order by s.attainment_rate desc limit 1",
    )[0]
    text = open_page(browser, f"{server.url}/team")
    save_screenshot(browser, "team-dashboard")
    assert f.share(won / closed) in text
    assert f.share(won_amount / target) in text
    assert f"Top attainment: {top_rep} {f.share(top_attainment)}" in text
    assert f"{f.money(won_amount)} won of {f.money(target)} target" in text
    assert_healthy_page(browser, text, rep_ids, server)


def test_data_health(server, browser, serve_dir, rep_ids):
    f = fmt()
    publish_id, checks_passed, counts = read_served(
        serve_dir,
        "select publish_id, checks_passed, mart_row_counts from main.publish_log order by published_at desc limit 1",
    )[0]
    text = open_page(browser, f"{server.url}/data-health")
    save_screenshot(browser, "data-health")
    assert "Fresh: published" in text and f"{f.plural(checks_passed, 'check')} passed" in text
    assert publish_id in text
    assert f.count(len(json.loads(counts))) in text  # marts published
    assert "No alerts recorded" in text
    assert "make docs" in text
    assert_healthy_page(browser, text, rep_ids, server)


# --------------------------------------------------------------------------- the served file's life


def test_an_empty_serve_folder_then_marts_published_days_ago(browser, demo_warehouse, tmp_path):
    """No served file: every page says so. Then marts three days old: Data health says so."""
    import duckdb

    from revops.publish import served_path

    serve = tmp_path / "serve"
    server = start_dashboard(serve, tmp_path)
    try:
        for path in ("/", "/plan-my-day", "/data-health"):
            text = open_page(browser, f"{server.url}{path}")
            assert "No published warehouse yet — run make run" in text, text
            assert not error_boxes(browser)
        assert not serve.exists(), "the dashboard must never write to the serve folder"

        publish_demo(demo_warehouse.warehouse_path, serve, demo_warehouse.as_of_date)
        with duckdb.connect(str(served_path(serve))) as con:  # as if the last publish was 3 days ago
            con.execute("update main.publish_log set published_at = published_at - interval 3 day")
        text = open_page(browser, f"{server.url}/data-health")
        assert "The served marts are 3 days old" in text, text
        assert "Fresh: published" not in text
        text = open_page(browser, f"{server.url}/")
        assert "Open deals" in text and not error_boxes(browser)
        assert "The marts are stale: these are the marts of" in text  # the banner on every page
    finally:
        server.stop()


def test_a_loaded_page_never_blocks_a_publish_and_the_next_load_sees_it(browser, demo_warehouse, tmp_path):
    """Publish, load a page, publish again while the page is open, reload: the new publish shows.

    Then a failed run records its alert: the Data health page says the last run failed.
    """
    from dashboard import served
    from revops.alerting import Alert
    from revops.publish import record_alerts

    serve = tmp_path / "serve"
    first = publish_demo(
        demo_warehouse.warehouse_path, serve, demo_warehouse.as_of_date, run_id="aaaa1111" + "0" * 24
    )
    server = start_dashboard(serve, tmp_path)
    try:
        text = open_page(browser, f"{server.url}/data-health")
        assert first.publish_id in text
        # the page is loaded and stays open in the browser; the server holds no handle on the file
        assert not [p for p in server.open_files() if p.endswith("revops.duckdb")], server.open_files()

        # a reader in the middle of a page load: hold the served file open while publishing
        with served.open_served(served.served_path(serve)) as reader:
            result = {}
            publisher = threading.Thread(
                target=lambda: result.update(
                    second=publish_demo(
                        demo_warehouse.warehouse_path,
                        serve,
                        demo_warehouse.as_of_date,
                        run_id="bbbb2222" + "0" * 24,
                    )
                )
            )
            started = time.monotonic()
            publisher.start()
            publisher.join(timeout=60)
            assert not publisher.is_alive(), "the publish was blocked by an open reader"
            assert time.monotonic() - started < 60
            # the reader keeps its consistent (old) view
            assert reader.rows("select count(*) from main.publish_log")[0][0] == 1
        second = result["second"]

        text = open_page(browser, f"{server.url}/data-health")
        assert second.publish_id in text and "bbbb2222" in text
        assert "Fresh: published" in text

        record_alerts(
            serve,
            [
                Alert(
                    kind="gate_failure",
                    severity="blocking",
                    title="raw.opportunity: amounts_not_negative failed",
                    message="3 rows have a negative amount",
                    run_id="cccc3333",
                    table_name="opportunity",
                    check_name="amounts_not_negative",
                    failing_row_count=3,
                ).as_row()
            ],
        )
        text = open_page(browser, f"{server.url}/data-health")
        assert "The last run failed" in text
        assert "raw.opportunity: amounts_not_negative failed" in text
        assert "Fresh: published" not in text
        # the other pages keep showing the last good marts, under a banner that says the run failed
        text = open_page(browser, f"{server.url}/")
        assert "Open deals" in text
        assert "The last run failed" in text and "raw.opportunity: amounts_not_negative failed" in text
        text = open_page(browser, f"{server.url}/forecast")
        assert "The last run failed" in text
    finally:
        server.stop()


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


# --------------------------------------------------------------------------- addresses


def test_every_route_opens_its_page_directly(server, browser, rep_ids):
    """Each address the app serves (`/pipeline-health`, `/run-rate-hud`, ...) opened as a new
    visit shows its page, never Streamlit's "Page not found" dialog."""
    from dashboard.routes import ROUTES

    assert "/pipeline-health" in ROUTES and "/run-rate-hud" in ROUTES
    for route, title in ROUTES.items():
        heading, text = open_heading(browser, f"{server.url}{route}")
        assert "Page not found" not in text, route
        assert heading == title, (route, heading)
        assert_healthy_page(browser, text, rep_ids, server)
    heading, text = open_heading(browser, f"{server.url}/no-such-page")  # the check can fail
    assert "Page not found" in text


def test_filters_round_trip_through_the_address(server, browser, serve_dir, rep_ids):
    """`?team=` and `?rep=` pick the filters; the address keeps what is shown, so it can be shared."""
    from urllib.parse import parse_qs, urlparse

    owner_id, team = read_served(
        serve_dir,
        "select owner_id, team from marts.dim_reps where owner_id in (select owner_id from marts.deal_risk) "
        "order by name limit 1",
    )[0]
    open_page(browser, f"{server.url}/pipeline-health?rep={owner_id}")
    assert team in selected_option(browser, 0), selected_option(browser, 0)
    assert rep_ids[owner_id] in selected_option(browser, 1)
    shared = browser.current_url
    assert parse_qs(urlparse(shared).query) == {"team": [team], "rep": [owner_id]}, shared

    text = open_page(browser, shared)  # the shared address: the same view
    assert rep_ids[owner_id] in selected_option(browser, 1) and rep_ids[owner_id] in text

    text = open_page(browser, f"{server.url}/pipeline-health?rep=nobody")
    assert "No rep nobody here" in text and "All reps" in selected_option(browser, 1)

    open_page(browser, f"{server.url}/run-rate-hud?period=YTD")
    checked = browser.find_elements("css selector", '[data-testid="stRadio"] input:checked')
    labels = [box.find_element("xpath", "./ancestor::label").text for box in checked]
    assert "Year to date" in labels, labels
    assert parse_qs(urlparse(browser.current_url).query).get("period") == ["YTD"]


# --------------------------------------------------------------------------- the Monday review


def drifting_deals(serve_dir) -> list[tuple]:
    """deal_risk's medium and high deals, ranked as the page must rank them (risk × amount)."""
    return read_served(
        serve_dir,
        "select d.opportunity_id, d.opportunity_name, r.name, d.amount, d.risk_score, d.close_date, d.main_reason "
        "from marts.deal_risk d left join marts.dim_reps r using (owner_id) "
        "where d.risk_level in ('medium', 'high') "
        "order by d.risk_score * coalesce(d.amount, 0) desc, d.risk_score desc, d.opportunity_id",
    )


def test_the_drifting_deals_are_one_ranked_list_above_the_fold(server, browser, serve_dir, rep_ids):
    f = fmt()
    ranked = drifting_deals(serve_dir)
    assert len(ranked) >= 3, "the demo has drifting deals"
    open_page(browser, f"{server.url}/pipeline-health")
    shown = grid(browser, 0)
    assert shown is not None, "no data grid on Pipeline Health"
    header, *rows = shown["rows"]
    assert header[:7] == ["Deal", "Deal page", "Owner", "Amount", "Risk", "Close date", "Main reason"], header
    # the header and the first deal row end inside the 1440x900 viewport, without scrolling
    assert browser.execute_script("return window.innerHeight") == VIEWPORT[1]
    assert shown["top"] + 2 * 35 <= VIEWPORT[1], shown["top"]
    for (opportunity_id, name, owner, amount, risk, close_date, main_reason), row in zip(
        ranked[:3], rows[:3], strict=True
    ):
        assert row[0] == name and row[1] == f"deal?id={opportunity_id}" and row[2] == owner, row
        assert float(row[3]) == amount and float(row[4]) == risk and row[5] == close_date.isoformat(), row
        # the mart's main_reason, word for word, with relative days rather than ISO dates
        assert main_reason and row[6] == main_reason, (row[6], main_reason)
        assert not re.search(r"\d{4}-\d{2}-\d{2}", row[6]), f"the main reason in words: {row[6]!r}"
    text = open_page(browser, f"{server.url}/pipeline-health")
    assert f"{f.count(len(ranked))} drifting deals" in text
    assert "vs a week ago" in text
    for label in ("Pipeline velocity", "Lead → opportunity", "Revenue per customer"):
        assert label in text, label


def test_the_health_strip_stays_at_team_and_rep_level(server, browser, serve_dir, rep_ids):
    f = fmt()
    team, velocity = read_served(
        serve_dir,
        "select team, value from marts.revops_health where rollup_level = 'team' "
        "and metric = 'pipeline_velocity_amount_per_day' and value is not null order by team limit 1",
    )[0]
    deals, amount = read_served(
        serve_dir,
        "select open_deal_count, open_amount from marts.pipeline_hygiene where rollup_level = 'team' and team = ?",
        [team],
    )[0]
    text = open_page(browser, f"{server.url}/pipeline-health?team={team}")
    assert f"Revenue-engine health (team {team})" in text
    assert f"{f.money(velocity)}/day" in text
    # the team's cards are the metric layer's answers (equal to the mart's)
    layer = "the metric layer (mf query --metrics open_deals,open_amount,next_step_share --group-by"
    assert f"{layer} rep__team)" in text and "Metric layer unavailable" not in text
    assert f"Open deals\n{f.count(deals)}\n" in text and f"Open pipeline\n{f.money(amount)}\n" in text
    owner_id, rate = read_served(
        serve_dir,
        "select owner_id, next_step_rate from marts.pipeline_hygiene where rollup_level = 'owner' "
        "and next_step_rate is not null and owner_id in (select owner_id from marts.dim_reps where team = ?) "
        "and owner_id in (select owner_id from marts.deal_risk) "
        "order by owner_id limit 1",
        [team],
    )[0]
    rep_deals = read_served(
        serve_dir,
        "select open_deal_count from marts.pipeline_hygiene where rollup_level = 'owner' and owner_id = ?",
        [owner_id],
    )[0][0]
    text = open_page(browser, f"{server.url}/pipeline-health?rep={owner_id}")
    assert f"Revenue-engine health ({rep_ids[owner_id]})" in text
    assert f"{layer} rep)" in text and f"Open deals\n{f.count(rep_deals)}\n" in text
    assert f.share(rate) in text and "company-wide only" in text
    assert_healthy_page(browser, text, rep_ids, server)


def test_a_deal_page_opens_from_the_list(server, browser, serve_dir, rep_ids):
    from urllib.parse import urljoin

    open_page(browser, f"{server.url}/pipeline-health")
    first = grid(browser, 0)["rows"][1]
    opportunity_id = first[1].split("id=", 1)[1]
    stages = read_served(
        serve_dir,
        "select stage_name from marts.fct_stage_history where opportunity_id = ? order by stage_sequence",
        [opportunity_id],
    )
    name, reasons, risk_reasons = read_served(
        serve_dir,
        "select opportunity_name, risk_score, risk_reasons from marts.deal_risk where opportunity_id = ?",
        [opportunity_id],
    )[0]
    interactions = read_served(
        serve_dir,
        "select subject from marts.deal_interactions where opportunity_id = ? "
        "order by interaction_at desc, interaction_id",
        [opportunity_id],
    )
    text = open_page(browser, urljoin(browser.current_url, first[1]))
    heading = browser.find_element("css selector", '[data-testid="stMainBlockContainer"] h1').text
    assert heading == name
    assert f"Risk score {round(reasons)} of 100" in text
    assert "Why it is flagged" in text and "Stage timeline" in text and "Last interaction:" in text
    # the reasons are the mart's words, each on its own line
    for reason in risk_reasons.split(";"):
        assert reason.strip() in text
    # the deal's calls, emails and meetings (deal_interactions), newest first, then the timeline
    assert "Activity" in text
    if interactions:
        activity = grid(browser, 0)["rows"]
        assert activity[1][2] == interactions[0][0]
    timeline = grid(browser, 1 if interactions else 0)["rows"]
    assert [row[0] for row in timeline[1:]] == [s for (s,) in stages]
    assert "Open in the CRM" not in text, "no CRM link without REVOPS_CRM_RECORD_URL"
    assert "REVOPS_CRM_RECORD_URL" in text
    save_screenshot(browser, "deal")
    assert_healthy_page(browser, text, rep_ids, server)

    text = open_page(browser, f"{server.url}/deal?id=no-such-deal")
    assert "No deal with the id no-such-deal" in text


# --------------------------------------------------------------------------- the as-of picker


def test_the_as_of_picker_lists_the_kept_days_and_shows_a_past_day(server, browser, serve_dir, kept, rep_ids):
    """The picker offers the kept days; picking the past day puts `?as_of=` in the address, and
    that address shows the past day's figures (the metric layer's too) with a notice saying so."""
    import duckdb

    f = fmt()
    latest, past = kept
    latest_deals, latest_high = read_served(
        serve_dir, "select count(*), count(*) filter (where risk_level = 'high') from marts.deal_risk"
    )[0]
    past_file = serve_dir / "parquet" / past.parquet_version / "deal_risk.parquet"
    past_deals, past_high = duckdb.sql(
        f"select count(*), count(*) filter (where risk_level = 'high') from read_parquet('{past_file}')"
    ).fetchall()[0]
    assert (past_deals, past_high) == (latest_deals - 3, latest_high - 3), "the two days must differ"

    text = open_page(browser, f"{server.url}/")
    assert "Showing the marts as of" not in text and "as_of" not in browser.current_url
    assert pick_in_sidebar(browser) == [
        f"{f.weekday_date(latest.as_of_date)} (latest)",
        f.weekday_date(past.as_of_date),
    ]
    pick_in_sidebar(browser, f.weekday_date(past.as_of_date))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "as_of" not in browser.current_url:
        time.sleep(0.2)
    shared = browser.current_url
    assert parse_qs(urlparse(shared).query) == {"as_of": [past.as_of_date.isoformat()]}, shared

    text = open_page(browser, shared)  # the shared address: the same day
    save_screenshot(browser, "pipeline-health-past-day")
    assert f.weekday_date(past.as_of_date) in selected_option(browser, where=SIDEBAR)
    assert (
        f"Showing the marts as of {f.weekday_date(past.as_of_date)}, published {f.timestamp(past.published_at)} "
        f"— not the latest: the latest are of {f.weekday_date(latest.as_of_date)}"
    ) in text
    assert f"as of {f.weekday_date(past.as_of_date)}" in text  # the page's own header, from the mart
    assert f"Open deals\n{f.count(past_deals)}\n" in text, "the metric layer answers for the past day"
    assert f"High risk\n{f.count(past_high)}\n" in text
    assert "the metric layer (mf query" in text and "Metric layer unavailable" not in text
    first = grid(browser, 0)["rows"][1]
    assert first[1].endswith(f"&as_of={past.as_of_date.isoformat()}"), "a deal opens on the day shown"
    assert_healthy_page(browser, text, rep_ids, server)
    deal_text = open_page(browser, f"{server.url}/{first[1]}")
    assert f"Showing the marts as of {f.weekday_date(past.as_of_date)}" in deal_text and first[0] in deal_text
    assert_healthy_page(browser, deal_text, rep_ids, server)
    open_page(browser, shared)

    pick_in_sidebar(browser, f.weekday_date(latest.as_of_date))  # back to the latest: no ?as_of=
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "as_of" in browser.current_url:
        time.sleep(0.2)
    assert "as_of" not in browser.current_url, browser.current_url


def test_every_page_opens_on_a_past_day(server, browser, kept, rep_ids):
    from dashboard.routes import PAGES

    past = kept[1]
    for spec in PAGES:
        heading, text = open_heading(browser, f"{server.url}/{spec.url_path}?as_of={past.as_of_date}")
        assert heading == spec.title, (spec, heading)
        assert f"Showing the marts as of {fmt().weekday_date(past.as_of_date)}" in text, spec
        assert_healthy_page(browser, text, rep_ids, server)


@pytest.mark.parametrize("asked", ["2026-10-01", "last-tuesday"])
def test_a_day_not_kept_says_which_days_are(server, browser, kept, asked):
    f = fmt()
    heading, text = open_heading(browser, f"{server.url}/forecast?as_of={asked}")
    assert heading == "Forecast"
    assert f"No marts kept for {asked} (the address's ?as_of=)" in text, text
    assert "the last 7 published days (REVOPS_SERVED_DAYS_KEPT)" in text
    for day in kept:
        assert f"{f.weekday_date(day.as_of_date)}" in text and day.as_of_date.isoformat() in text
    assert "Two calls, and how good each has been" not in text, "no figures of another day"
    assert not error_boxes(browser)
