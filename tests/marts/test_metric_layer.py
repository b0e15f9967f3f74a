"""The metric layer (models/semantic/) answers what the marts say.

Every metric is asked of MetricFlow on the session's demo build (the demo_warehouse
fixture: no build of its own) and compared with the mart it is defined over, to 1e-9
relative (the same sums in another order). MetricFlow compiles the queries from the
semantic manifest that build wrote, through revops.metrics - the path the dashboard
takes - several metrics per query; one test runs the `mf query` command of the README
itself (a subprocess, about 15 s), on a copy of the warehouse, since `mf` opens the
file read-write.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DBT_PROJECT_DIR, BuiltWarehouse

from revops.metrics import HEADLINE_QUERIES, MetricQueryError, MetricTable, headline_metrics, query_metrics

MF_EXECUTABLE = Path(sys.executable).parent / "mf"


def _close(actual: object, expected: object) -> bool:
    """Equal, both unknown (None), or numbers equal to 1e-9 relative."""
    if actual is None or expected is None:
        return actual is None and expected is None
    if not isinstance(expected, int | float) or isinstance(expected, bool):
        return actual == expected
    return actual == pytest.approx(expected, rel=1e-9, abs=1e-9)


def _assert_all_close(pairs: list[tuple[str, object, object]]) -> None:
    assert pairs
    wrong = [
        f"{name}: MetricFlow {actual!r}, mart {expected!r}"
        for name, actual, expected in pairs
        if not _close(actual, expected)
    ]
    assert not wrong, f"{len(wrong)} of {len(pairs)} differ:\n" + "\n".join(wrong[:20])


def _midnight(day: dt.date) -> dt.datetime:
    """A day as MetricFlow returns metric_time (a timestamp at midnight)."""
    return dt.datetime.combine(day, dt.time())


def _day(value: object) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value  # type: ignore[return-value]


@pytest.fixture(scope="module")
def semantic_manifest(demo_warehouse: BuiltWarehouse) -> Path:
    path = demo_warehouse.target_path / "semantic_manifest.json"
    assert path.is_file(), "dbt build wrote no semantic manifest"
    return path


@pytest.fixture(scope="module")
def headlines(demo_warehouse: BuiltWarehouse, semantic_manifest: Path) -> dict[str, MetricTable]:
    return headline_metrics(demo_warehouse.warehouse_path, semantic_manifest)


def _health(
    demo_warehouse: BuiltWarehouse, rollup_level: str = "company"
) -> dict[tuple[str, str | None], float]:
    return {
        (metric, team): value
        for metric, team, value in demo_warehouse.query(
            "select metric, team, value from marts.revops_health where rollup_level = ?", [rollup_level]
        )
    }


def test_the_semantic_manifest_is_valid_and_reads_only_published_marts(semantic_manifest):
    """What `mf validate-configs` checks, and every semantic model over a mart (schema
    marts): the served file can answer every metric. The time spine is an existing model."""
    from metricflow_semantic_interfaces.validations.semantic_manifest_validator import (
        SemanticManifestValidator,
    )
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest

    text = semantic_manifest.read_text()
    result = SemanticManifestValidator().validate_semantic_manifest(
        parse_manifest_from_dbt_generated_manifest(manifest_json_string=text)
    )
    assert not result.has_blocking_issues, [issue.message for issue in result.all_issues]
    raw = json.loads(text)
    outside = [m["name"] for m in raw["semantic_models"] if m["node_relation"]["schema_name"] != "marts"]
    assert not outside, f"semantic models not over a published mart: {outside}"
    assert {q["name"] for q in raw["saved_queries"]} >= set(HEADLINE_QUERIES)
    spines = raw["project_configuration"]["time_spines"]
    assert [s["node_relation"]["alias"] for s in spines] == ["int_calendar_days"]


def test_quarter_pipeline_metrics_equal_the_forecast_mart(demo_warehouse, headlines):
    rows = demo_warehouse.query(
        "select period_start, coverage_ratio, open_pipeline_amount, weighted_pipeline_amount, call_amount,"
        " target_amount from marts.forecast where rollup_level = 'company' and period_type = 'quarter'"
    )
    assert len(rows) == 2  # the current and the next quarter
    table = headlines["pipeline_headlines"]
    assert {_day(r["metric_time__quarter"]) for r in table.records()} == {row[0] for row in rows}
    pairs = []
    for start, coverage, open_amount, weighted, call, target in rows:
        record = next(r for r in table.records() if _day(r["metric_time__quarter"]) == start)
        pairs += [
            (f"{start} pipeline_coverage", record["pipeline_coverage"], coverage),
            (f"{start} open_pipeline", record["open_pipeline"], open_amount),
            (f"{start} weighted_pipeline", record["weighted_pipeline"], weighted),
            (f"{start} forecast_call", record["forecast_call"], call),
            (f"{start} quarter_target", record["quarter_target"], target),
        ]
    current = demo_warehouse.scalar(
        "select value from marts.revops_health where metric = 'pipeline_coverage' and rollup_level = 'company'"
    )
    current_quarter = demo_warehouse.scalar(
        "select period_start from marts.forecast where rollup_level = 'company'"
        " and period_type = 'quarter' and period_offset = 'current'"
    )
    pairs.append(
        (
            "revops_health pipeline_coverage",
            table.value("pipeline_coverage", metric_time__quarter=_midnight(current_quarter)),
            current,
        )
    )
    _assert_all_close(pairs)


def test_team_metrics_equal_the_marts_team_rows(demo_warehouse, semantic_manifest):
    """Group by rep__team: the sum of each team's owners, as the team rows of forecast,
    pipeline_hygiene and revops_health are."""
    coverage = query_metrics(
        demo_warehouse.warehouse_path,
        semantic_manifest,
        metrics=["pipeline_coverage", "weighted_pipeline"],
        group_by=["rep__team", "metric_time__quarter"],
    )
    rows = demo_warehouse.query(
        "select team, period_start, coverage_ratio, weighted_pipeline_amount from marts.forecast"
        " where rollup_level = 'team' and period_type = 'quarter'"
    )
    assert rows
    pairs = []
    for team, start, ratio, weighted in rows:
        quarter = _midnight(start)
        pairs.append(
            (
                f"{team} {start} coverage",
                coverage.value("pipeline_coverage", rep__team=team, metric_time__quarter=quarter),
                ratio,
            )
        )
        pairs.append(
            (
                f"{team} {start} weighted",
                coverage.value("weighted_pipeline", rep__team=team, metric_time__quarter=quarter),
                weighted,
            )
        )
    velocity = query_metrics(
        demo_warehouse.warehouse_path,
        semantic_manifest,
        metrics=["pipeline_velocity", "revenue_per_customer", "next_step_share", "open_deals"],
        group_by=["rep__team"],
    )
    hygiene = demo_warehouse.query(
        "select team, next_step_rate, open_deal_count from marts.pipeline_hygiene where rollup_level = 'team'"
    )
    assert hygiene
    for team, rate, count in hygiene:
        pairs.append((f"{team} next_step_share", velocity.value("next_step_share", rep__team=team), rate))
        pairs.append((f"{team} open_deals", velocity.value("open_deals", rep__team=team), count))
    health = _health(demo_warehouse, "team")
    teams = {team for (_, team) in health}
    assert len(teams) >= 2
    for team in sorted(teams):
        pairs.append(
            (
                f"{team} velocity",
                velocity.value("pipeline_velocity", rep__team=team),
                health[("pipeline_velocity_amount_per_day", team)],
            )
        )
        pairs.append(
            (
                f"{team} revenue per customer",
                velocity.value("revenue_per_customer", rep__team=team),
                health[("revenue_per_customer_amount", team)],
            )
        )
    _assert_all_close(pairs)


def test_win_rate_and_attainment_equal_rep_scorecards(demo_warehouse, headlines, semantic_manifest):
    """Company per quarter: won / closed and won amount / quota over rep_scorecards'
    owners; the current quarter's attainment is run_rate's QTD figure too. Per rep and
    quarter: the scorecard's own win_rate, win_rate_by_amount and attainment_rate."""
    quarters = demo_warehouse.query(
        "select quarter_start, sum(won_count), sum(won_count + lost_count),"
        " sum(won_count)::double / sum(won_count + lost_count), sum(closed_won_amount) / sum(target_amount)"
        " from marts.rep_scorecards group by 1"
    )
    assert len(quarters) >= 2
    table = headlines["performance_headlines"]
    pairs = []
    for start, won, closed, win_rate, attainment in quarters:
        quarter = _midnight(start)
        pairs += [
            (f"{start} won_deals", table.value("won_deals", metric_time__quarter=quarter), won),
            (f"{start} closed_deals", table.value("closed_deals", metric_time__quarter=quarter), closed),
            (f"{start} win_rate", table.value("win_rate", metric_time__quarter=quarter), win_rate),
            (f"{start} attainment", table.value("attainment", metric_time__quarter=quarter), attainment),
        ]
    qtd_start, qtd_attainment = demo_warehouse.query(
        "select period_start, closed_won_amount / target_amount from marts.run_rate"
        " where rollup_level = 'company' and period = 'QTD'"
    )[0]
    pairs.append(
        (
            "run_rate QTD attainment",
            table.value("attainment", metric_time__quarter=_midnight(qtd_start)),
            qtd_attainment,
        )
    )

    per_rep = query_metrics(
        demo_warehouse.warehouse_path,
        semantic_manifest,
        metrics=["win_rate", "win_rate_by_amount", "attainment"],
        group_by=["rep", "metric_time__quarter"],
    )
    scorecards = demo_warehouse.query(
        "select owner_id, quarter_start, win_rate, win_rate_by_amount, attainment_rate from marts.rep_scorecards"
    )
    for owner, start, win_rate, by_amount, attainment in scorecards:
        key = {"rep": owner, "metric_time__quarter": _midnight(start)}
        pairs += [
            (f"{owner} {start} win_rate", per_rep.value("win_rate", **key), win_rate),
            (f"{owner} {start} win_rate_by_amount", per_rep.value("win_rate_by_amount", **key), by_amount),
            (f"{owner} {start} attainment", per_rep.value("attainment", **key), attainment),
        ]
    _assert_all_close(pairs)


def test_open_pipeline_and_health_metrics_equal_revops_health(demo_warehouse, headlines):
    """The as-of metrics computed from their measures, and health_metric_value, equal
    revops_health's company rows - every one of them."""
    health = _health(demo_warehouse)
    record = headlines["open_pipeline_headlines"].records()
    assert len(record) == 1
    answer = record[0]
    pairs = [
        ("open_deals", answer["open_deals"], demo_warehouse.scalar("select count(*) from marts.deal_risk")),
        ("next_step_share", answer["next_step_share"], health[("next_step_share", None)]),
        ("icp_share_of_pipeline", answer["icp_share_of_pipeline"], health[("icp_share_of_pipeline", None)]),
        (
            "pipeline_velocity",
            answer["pipeline_velocity"],
            health[("pipeline_velocity_amount_per_day", None)],
        ),
        (
            "win_rate_week_over_week_change",
            answer["win_rate_week_over_week_change"],
            health[("win_rate_week_over_week_change", None)],
        ),
        (
            "revenue_per_customer",
            answer["revenue_per_customer"],
            health[("revenue_per_customer_amount", None)],
        ),
    ]
    by_metric = {
        r["health_metric_row__metric"]: r["health_metric_value"]
        for r in headlines["health_headlines"].records()
    }
    assert set(by_metric) == {metric for metric, _ in health}
    pairs += [(f"health {metric}", by_metric[metric], value) for (metric, _), value in health.items()]
    _assert_all_close(pairs)


def test_variance_cac_and_nrr_equal_their_marts(demo_warehouse, semantic_manifest):
    variance = query_metrics(
        demo_warehouse.warehouse_path,
        semantic_manifest,
        metrics=["forecast_variance"],
        group_by=["metric_time__month"],
    )
    months = demo_warehouse.query(
        "select period_start, variance_rate from marts.forecast_accuracy"
        " where rollup_level = 'company' and period_type = 'month'"
    )
    assert months
    pairs = [
        (
            f"{start} forecast_variance",
            variance.value("forecast_variance", metric_time__month=_midnight(start)),
            rate,
        )
        for start, rate in months
    ]
    latest = max(start for start, _ in months)
    pairs.append(
        (
            "revops_health forecast_variance",
            variance.value("forecast_variance", metric_time__month=_midnight(latest)),
            _health(demo_warehouse)[("forecast_variance", None)],
        )
    )
    growth = query_metrics(
        demo_warehouse.warehouse_path,
        semantic_manifest,
        metrics=["customer_acquisition_cost", "net_revenue_retention"],
        group_by=["growth_metric_row__channel"],
    )
    for metric, column in [("cac", "customer_acquisition_cost"), ("nrr", "net_revenue_retention")]:
        rows = demo_warehouse.query(
            "select channel, value from marts.growth_metrics where metric = ?", [metric]
        )
        assert rows
        pairs += [
            (f"{metric} {channel}", growth.value(column, growth_metric_row__channel=channel), value)
            for channel, value in rows
        ]
    _assert_all_close(pairs)


def test_metric_queries_read_the_file_read_only_beside_a_reader(demo_warehouse, semantic_manifest):
    """BI holds the served file open read-only; the helper opens it read-only too, and
    an unknown metric or a missing file is an error that says so."""
    import duckdb

    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as reader:
        expected = reader.execute("select count(*) from marts.deal_risk").fetchone()[0]
        table = query_metrics(demo_warehouse.warehouse_path, semantic_manifest, metrics=["open_deals"])
    assert table.records() == [{"open_deals": expected}]
    with pytest.raises(MetricQueryError, match="no_such_metric"):
        query_metrics(demo_warehouse.warehouse_path, semantic_manifest, metrics=["no_such_metric"])
    with pytest.raises(MetricQueryError, match="no semantic manifest"):
        query_metrics(
            demo_warehouse.warehouse_path, semantic_manifest.with_name("absent.json"), metrics=["open_deals"]
        )
    with pytest.raises(MetricQueryError, match="no DuckDB file"):
        query_metrics(
            demo_warehouse.warehouse_path.with_name("absent.duckdb"),
            semantic_manifest,
            metrics=["open_deals"],
        )


def test_the_readme_mf_query_answers_the_scorecards(demo_warehouse, semantic_manifest, tmp_path):
    """`mf query --metrics win_rate,attainment --group-by metric_time__quarter`, the
    README's command, run as the README says (DBT_PROFILES_DIR, REVOPS_WAREHOUSE_PATH),
    in a copy of the project folder's dbt_project.yml with the build's semantic manifest
    (`mf` reads `<project>/target/semantic_manifest.json`) and on a copy of the warehouse
    named like the original (the manifest's SQL names the database by the file's stem)."""
    project = tmp_path / "dbt_project"
    (project / "target").mkdir(parents=True)
    shutil.copy(DBT_PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")
    shutil.copy(semantic_manifest, project / "target" / "semantic_manifest.json")
    warehouse = tmp_path / demo_warehouse.warehouse_path.name
    shutil.copy(demo_warehouse.warehouse_path, warehouse)
    out = tmp_path / "answer.csv"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "REVOPS_WAREHOUSE_PATH": str(warehouse),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    process = subprocess.run(
        [
            str(MF_EXECUTABLE),
            "query",
            "--metrics",
            "win_rate,attainment",
            "--group-by",
            "metric_time__quarter",
            "--csv",
            str(out),
            "--quiet",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0 and out.is_file(), f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    with out.open() as handle:
        answer = {row["metric_time__quarter"][:10]: row for row in csv.DictReader(handle)}
    expected = demo_warehouse.query(
        "select quarter_start, sum(won_count)::double / sum(won_count + lost_count),"
        " sum(closed_won_amount) / sum(target_amount) from marts.rep_scorecards group by 1"
    )
    assert set(answer) == {start.isoformat() for start, _, _ in expected}
    _assert_all_close(
        [
            (f"{start} win_rate", float(answer[start.isoformat()]["win_rate"]), rate)
            for start, rate, _ in expected
        ]
        + [
            (f"{start} attainment", float(answer[start.isoformat()]["attainment"]), att)
            for start, _, att in expected
        ]
    )


def test_headlines_from_the_served_file_beside_an_open_reader(
    demo_warehouse, semantic_manifest, headlines, tmp_path
):
    """The dashboard's path: the marts the metrics read, published into a served file
    (revops.publish, the real publish), a BI reader holding it open read-only, and
    headline_metrics on it - the same numbers as on the working warehouse."""
    import duckdb

    from revops.publish import PublishRequest, publish_marts
    from revops.publish.served import served_path

    marts = sorted(
        {m["node_relation"]["alias"] for m in json.loads(semantic_manifest.read_text())["semantic_models"]}
    )
    serve_dir = tmp_path / "serve"
    publish_marts(
        demo_warehouse.warehouse_path,
        serve_dir,
        PublishRequest(run_id="metric-layer-test", as_of_date=demo_warehouse.as_of_date, marts=marts),
    )
    served = served_path(serve_dir)
    with duckdb.connect(str(served), read_only=True) as reader:
        reader.execute("select count(*) from marts.deal_risk").fetchall()
        from_served = headline_metrics(served, semantic_manifest)
    pairs = []
    for name, table in headlines.items():
        served_rows = from_served[name].records()
        assert len(served_rows) == len(table.records()), name
        for served_row, row in zip(served_rows, table.records(), strict=True):
            pairs += [(f"{name} {column}", served_row[column], value) for column, value in row.items()]
    _assert_all_close(pairs)
