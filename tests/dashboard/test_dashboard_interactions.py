"""Every filter and scope of every page, clicked through Streamlit's AppTest (no browser).

The browser tests check what people see on first load; these check that no choice a
user can make (a team, a rep, a quarter, another period) breaks a page or empties it
without saying why.
"""

from __future__ import annotations

import dashboard_harness
import pytest

streamlit = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

SCRIPT = """
import sys
sys.path.insert(0, {repository!r})
from dashboard import {module}
{module}.render()
"""


@pytest.fixture(scope="module")
def serve_dir(demo_warehouse, tmp_path_factory):
    serve = tmp_path_factory.mktemp("interactions_serve")
    dashboard_harness.publish_demo(demo_warehouse.warehouse_path, serve, demo_warehouse.as_of_date)
    return serve


@pytest.fixture
def page(serve_dir, monkeypatch):
    monkeypatch.setenv("REVOPS_SERVE_DIR", str(serve_dir))

    def run(module: str) -> AppTest:
        app = AppTest.from_string(
            SCRIPT.format(repository=str(dashboard_harness.REPOSITORY), module=module), default_timeout=60
        )
        app.run()
        assert_clean(app)
        return app

    return run


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def choose(app: AppTest, widget, value) -> None:
    widget.set_value(value)
    app.run()
    assert_clean(app)


def choose_index(app: AppTest, widget, index: int) -> None:
    """Selectboxes with a format_func: AppTest lists their labels, so pick by position."""
    widget.select_index(index)
    app.run()
    assert_clean(app)


def test_pipeline_health_for_every_team_and_a_rep(page):
    app = page("pipeline_health")
    team_box = app.selectbox(key="health_team")
    for team in team_box.options[1:]:
        choose(app, app.selectbox(key="health_team"), team)
        assert any("open pipeline for" in m.value for m in app.markdown), team
        owner_box = next(box for box in app.selectbox if box.key and box.key.startswith("health_owner_"))
        if len(owner_box.options) > 1:
            choose_index(app, owner_box, 1)
            assert any("open pipeline for" in m.value for m in app.markdown) or app.info


@pytest.mark.parametrize("module,key", [("run_rate_hud", "hud"), ("forecast", "forecast")])
def test_company_team_and_rep_scopes(page, module, key):
    app = page(module)
    for level in ("Team", "Rep"):
        choose(app, app.radio(key=f"{key}_level"), level)
        box_key = f"{key}_team" if level == "Team" else f"{key}_owner"
        for index in range(min(3, len(app.selectbox(key=box_key).options))):
            choose_index(app, app.selectbox(key=box_key), index)
            assert app.metric or app.info


def test_forecast_accuracy_by_quarter(page):
    app = page("forecast")
    choose(app, app.radio(key="forecast_accuracy_period"), "quarter")
    assert any("closed quarters" in m.value for m in app.markdown)


def test_forecast_waterfall_every_period_window_and_movement(page, demo_warehouse):
    app = page("forecast")
    for period in ("month", "quarter"):
        choose(app, app.radio(key="waterfall_period"), period)
        for window in ("last_7_days", "period_to_date"):
            choose(app, app.radio(key="waterfall_window"), window)
            start, end = demo_warehouse.query(
                """select max(case when movement = 'start' then deal_count end),
                          max(case when movement = 'end' then deal_count end)
                   from marts.pipeline_waterfall
                   where rollup_level = 'company' and period = ? and "window" = ?""",
                [period, window],
            )[0]
            assert any(f"({start:,} → {end:,} deals)" in m.value for m in app.markdown), (period, window)
    for index in range(len(app.selectbox(key="waterfall_movement").options)):
        choose_index(app, app.selectbox(key="waterfall_movement"), index)
        assert app.dataframe or app.info


def test_run_rate_breakdown_periods(page):
    app = page("run_rate_hud")
    for period in ("MTD", "YTD"):
        choose(app, app.radio(key="hud_breakdown_period"), period)


def test_team_dashboard_every_quarter_and_team(page):
    app = page("team_dashboard")
    for index in range(len(app.selectbox(key="team_quarter").options)):
        choose_index(app, app.selectbox(key="team_quarter"), index)
    for team in app.selectbox(key="team_team").options[1:]:
        choose(app, app.selectbox(key="team_team"), team)
        assert app.metric


def test_plan_my_day_every_rep(serve_dir, monkeypatch):
    """Each rep through the address (?rep=<owner_id>), as a bookmarked list opens."""
    monkeypatch.setenv("REVOPS_SERVE_DIR", str(serve_dir))
    reps = dashboard_harness.read_served(
        serve_dir, "select owner_id, name from marts.dim_reps where is_active"
    )
    script = SCRIPT.format(repository=str(dashboard_harness.REPOSITORY), module="plan_my_day")
    for owner_id, name in reps:
        app = AppTest.from_string(script, default_timeout=60)
        app.query_params["rep"] = owner_id
        app.run()
        assert_clean(app)
        assert app.selectbox(key="plan_rep").value == owner_id
        assert app.metric or any(f"No actions for {name} today" in i.value for i in app.info), name


def test_data_health(page):
    app = page("data_health")
    assert any("Fresh" in s.value for s in app.success)


# --------------------------------------------------------------------------- goals are settings

# A team's own goals and weights (dbt vars), none of them DESIGN.md's defaults
GOALS = {
    "icp_share_healthy_min": 0.8,
    "next_step_share_healthy_min": 0.95,
    "coverage_healthy_min": 3,
    "coverage_healthy_max": 4,
    "forecast_variance_healthy_rate": 0.1,
    "best_case_weight": 0.3,
}


@pytest.fixture(scope="module")
def goals_page(demo_warehouse, tmp_path_factory):
    """The demo's marts rebuilt with GOALS (the models that read them), published, and its pages."""
    import shutil

    from conftest import run_dbt

    work = tmp_path_factory.mktemp("goals")
    warehouse = work / "build.duckdb"
    shutil.copy(demo_warehouse.warehouse_path, warehouse)
    run_dbt(
        ["run", "--select", "int_deal_forecast_buckets+", "int_calibrated_call_rates+", "revops_health"],
        warehouse_path=warehouse,
        target_path=work / "target",
        dbt_vars={"as_of_date": demo_warehouse.as_of_date.isoformat(), **GOALS},
    )
    serve = work / "serve"
    dashboard_harness.publish_demo(warehouse, serve, demo_warehouse.as_of_date)

    def run(module: str) -> AppTest:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("REVOPS_SERVE_DIR", str(serve))
            app = AppTest.from_string(
                SCRIPT.format(repository=str(dashboard_harness.REPOSITORY), module=module), default_timeout=60
            )
            app.run()
        assert_clean(app)
        return app

    return run


def chart_titles(app: AppTest) -> list[str]:
    import json

    titles = []
    for chart in app.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        for part in [spec, *spec.get("layer", [])]:
            title = part.get("title")
            titles.append(title.get("text") if isinstance(title, dict) else title)
    return [t for t in titles if t]


def page_text(app: AppTest) -> str:
    texts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    texts += [m.help or "" for m in app.metric]
    for table in app.table:
        texts += [str(i) for i in table.value.index]
    return "\n".join(texts)


def test_the_pages_draw_the_goals_the_marts_were_built_with(goals_page, page):
    """`--vars` goals reach the pages: nothing on them is a constant copied from DESIGN.md."""
    team = goals_page("team_dashboard")
    assert "ICP share of open pipeline (goal > 80%)" in chart_titles(team)
    assert "ICP share of open pipeline (goal > 70%)" in chart_titles(page("team_dashboard"))

    health = goals_page("pipeline_health")
    assert "Share of open deals with a next step, week by week (goal > 95%)" in chart_titles(health)
    assert "Goal: more than 95% of open deals." in page_text(health)

    forecast = page_text(goals_page("forecast"))
    assert "healthy 3–4x" in forecast and "healthy 2.5" not in forecast
    assert "Best case (30% of face value)" in forecast
    assert "best case at 30%" in forecast and "at 40%" not in forecast
    assert "Within ±10%" in forecast

    default = page_text(page("forecast"))
    assert "healthy 2.5–3x" in default and "Best case (40% of face value)" in default
    assert "Within ±15%" in default
