"""Publishing in PostgreSQL (`revops.publish.postgres`): the marts dbt built in the shared
`postgres_warehouse` (schema `marts`) published server-side into a served schema, swapped in
one transaction, with the publish log and alerts beside them.

Each test publishes into a served schema of its own in the same database, so they share the
one dbt build of the session and never see each other's publishes.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from mart_comparison import MART_NAMES, assert_same_mart, mart_grains, table_rows


def _serving(postgres_warehouse, schema: str, **options):
    from revops.publish.postgres import PostgresServing

    return PostgresServing(dsn=postgres_warehouse.dsn, served_schema=schema, **options)


def _request(as_of: dt.date, run_id: str = "run-0001", **options):
    from revops.publish import PublishRequest

    alert = {
        "alert_id": f"alert-{run_id}",
        "created_at": dt.datetime(2026, 11, 23, 6, 0),
        "run_id": run_id,
        "as_of_date": as_of,
        "kind": "gate_warning",
        "severity": "warning",
        "title": "a warning",
        "message": "raw.opportunity: 3 rows with an amount above the usual",
    }
    return PublishRequest(
        run_id=run_id,
        as_of_date=as_of,
        marts=list(MART_NAMES),
        raw_row_counts={"opportunity": 1500},
        checks=[{"asset": "raw/opportunity", "check": "amounts", "passed": False, "severity": "warning"}],
        alerts=[alert],
        source_key="test:landing",
        **options,
    )


def _served_id(postgres_warehouse, schema: str) -> str:
    _, [(publish_id,)] = postgres_warehouse.query(f'select publish_id from "{schema}".served_publish')
    return publish_id


def _schemas(postgres_warehouse, prefix: str) -> set[str]:
    _, rows = postgres_warehouse.query(
        f"select nspname from pg_namespace where nspname like '{prefix}%' order by 1"
    )
    return {name for (name,) in rows}


def test_publish_serves_every_mart_equal_to_duckdbs_with_its_log_and_alerts(
    postgres_warehouse, demo_warehouse, tmp_path
):
    import duckdb

    from revops import state
    from revops.publish.postgres import publish_marts_postgres

    serving = _serving(postgres_warehouse, "served_full")
    state_file = tmp_path / "build.state.duckdb"
    result = publish_marts_postgres(serving, _request(demo_warehouse.as_of_date), state_path=state_file)
    assert result.published and result.detail == ""
    assert result.served_at == "schema served_full of database revops"
    assert set(result.mart_row_counts) == set(MART_NAMES)

    grains = mart_grains(demo_warehouse.target_path)
    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as duck:
        for mart in MART_NAMES:
            schema, table, grain = grains[mart]
            served = postgres_warehouse.query(f'select * from served_full."{table}"')
            assert_same_mart(
                mart, grain, table_rows(duck, f'select * from "{schema}"."{table}"'), served, "served"
            )
            assert len(served[1]) == result.mart_row_counts[mart]

    _, log = postgres_warehouse.query(
        "select publish_id, as_of_date, mart_count, checks_warned, source_key, mart_row_counts "
        "from served_full_history.publish_log"
    )
    assert [row[:5] for row in log] == [
        (result.publish_id, demo_warehouse.as_of_date, len(MART_NAMES), 1, "test:landing")
    ]
    assert _served_id(postgres_warehouse, "served_full") == result.publish_id
    _, alerts = postgres_warehouse.query("select alert_id, kind, message from served_full_history.alerts")
    assert alerts == [
        ("alert-run-0001", "gate_warning", "raw.opportunity: 3 rows with an amount above the usual")
    ]
    # the state file has it too: the gate's baseline comes from there
    assert state.has_publish(state_file, result.publish_id)
    assert state.last_good_raw_counts(state_file, "test:landing") == {"opportunity": 1500}
    assert _schemas(postgres_warehouse, "served_full") == {"served_full", "served_full_history"}


def test_a_readers_open_transaction_sees_one_publish_and_the_next_publish_keeps_the_previous(
    postgres_warehouse, demo_warehouse
):
    import psycopg2

    from revops.publish.postgres import publish_marts_postgres
    from revops.publish.postgres_served import kept_days_postgres

    serving = _serving(postgres_warehouse, "served_swap")
    day = demo_warehouse.as_of_date
    first = publish_marts_postgres(serving, _request(day, "run-first"))

    reader = psycopg2.connect(postgres_warehouse.dsn)
    outcome: dict = {}
    try:
        with reader.cursor() as cur:  # one transaction (psycopg2 opens it, nothing commits it yet)
            cur.execute("select publish_id from served_swap.served_publish")
            assert cur.fetchone()[0] == first.publish_id
            cur.execute("select count(*) from served_swap.deal_risk")
            risk_rows = cur.fetchone()[0]

            def publish():
                try:
                    outcome["result"] = publish_marts_postgres(serving, _request(day, "run-second"))
                except Exception as error:  # reported by the assertion below
                    outcome["error"] = error

            publisher = threading.Thread(target=publish)
            publisher.start()
            time.sleep(2.0)
            assert publisher.is_alive(), f"the swap did not wait for the open reader: {outcome}"
            # still the first publish, in every table the reader reads next
            cur.execute("select publish_id from served_swap.served_publish")
            assert cur.fetchone()[0] == first.publish_id
            cur.execute("select count(*) from served_swap.deal_risk")
            assert cur.fetchone()[0] == risk_rows
            cur.execute("select count(*) from served_swap.pipeline_hygiene_digest")
        reader.commit()
        publisher.join(timeout=120)
        assert "error" not in outcome, outcome.get("error")
        second = outcome["result"]
        with reader.cursor() as cur:  # a new transaction reads the new publish
            cur.execute("select publish_id from served_swap.served_publish")
            assert cur.fetchone()[0] == second.publish_id
        reader.commit()
    finally:
        reader.close()

    # the previous publish is kept under its own name, readable as it was
    assert _schemas(postgres_warehouse, "served_swap") == {
        "served_swap",
        "served_swap_history",
        serving.kept_schema(first.publish_id),
    }
    kept = serving.kept_schema(first.publish_id)
    assert _served_id(postgres_warehouse, kept) == first.publish_id
    days = kept_days_postgres(serving)
    assert [(d.as_of_date, d.publish_id, d.parquet_version, d.is_current) for d in days] == [
        (day, second.publish_id, "served_swap", True)
    ]


def test_refusals_a_blocked_swap_and_retention_leave_what_readers_see_consistent(
    postgres_warehouse, demo_warehouse
):
    import psycopg2

    from revops.publish import OlderAsOfError, PublishError
    from revops.publish.postgres import publish_marts_postgres
    from revops.publish.postgres_served import kept_days_postgres

    serving = _serving(postgres_warehouse, "served_days", lock_timeout_seconds=1)
    day = demo_warehouse.as_of_date
    monday = publish_marts_postgres(serving, _request(day - dt.timedelta(days=1), "run-mon"))
    tuesday = publish_marts_postgres(serving, _request(day, "run-tue"))

    with pytest.raises(OlderAsOfError, match="older than the"):
        publish_marts_postgres(serving, _request(day - dt.timedelta(days=2), "run-old"))
    skipped = publish_marts_postgres(serving, _request(day, "run-same", only_if_newer=True))
    assert not skipped.published and "already reads marts as of" in skipped.detail

    # a reader that holds a served table past the lock timeout: the publish gives up, nothing changes
    reader = psycopg2.connect(postgres_warehouse.dsn)
    try:
        with reader.cursor() as cur:
            cur.execute("select count(*) from served_days.deal_risk")
            with pytest.raises(PublishError, match=r"failed at step swap_schemas.*lock timeout"):
                publish_marts_postgres(serving, _request(day + dt.timedelta(days=1), "run-blocked"))
        reader.rollback()
    finally:
        reader.close()
    assert _served_id(postgres_warehouse, "served_days") == tuesday.publish_id
    assert not [s for s in _schemas(postgres_warehouse, "served_days") if "__tmp_" in s]

    # days_kept=1: the newest day's schema is served; the one before the current stays for
    # readers mid-read; an older one goes
    wednesday = publish_marts_postgres(serving, _request(day + dt.timedelta(days=1), "run-wed"), days_kept=1)
    assert _schemas(postgres_warehouse, "served_days") == {
        "served_days",
        "served_days_history",
        serving.kept_schema(tuesday.publish_id),
    }
    assert serving.kept_schema(monday.publish_id) not in _schemas(postgres_warehouse, "served_days")
    assert [(d.publish_id, d.is_current) for d in kept_days_postgres(serving)] == [
        (wednesday.publish_id, True),
        (tuesday.publish_id, False),
    ]
    _, log = postgres_warehouse.query(
        "select run_id from served_days_history.publish_log order by published_at"
    )
    assert [r for (r,) in log] == ["run-mon", "run-tue", "run-wed"]


def test_served_schema_names_are_checked():
    from revops.publish.postgres import PostgresServing

    with pytest.raises(ValueError, match="lower-case PostgreSQL name"):
        PostgresServing(dsn="", served_schema="Served-Marts")
    with pytest.raises(ValueError, match="at most 26 characters"):
        PostgresServing(dsn="", served_schema="a" * 27)


def _same_numbers(rows: list, expected: list) -> bool:
    """The same rows, numbers equal to 1e-9 (sums of doubles may differ in their last bits)."""

    def key(row):
        return tuple(
            (0, float(v)) if isinstance(v, (int, float)) or hasattr(v, "as_tuple") else (1, str(v))
            for v in row
        )

    left, right = sorted(map(key, rows)), sorted(map(key, expected))
    return len(left) == len(right) and all(
        a[0] == b[0] and (a[1] == pytest.approx(b[1], rel=1e-9, abs=1e-9) if a[0] == 0 else a[1] == b[1])
        for x, y in zip(left, right, strict=True)
        for a, b in zip(x, y, strict=True)
    )


def _read_from_postgres(monkeypatch, postgres_warehouse, schema: str) -> None:
    server = postgres_warehouse.server
    for key, value in {
        "REVOPS_SERVE_ENGINE": "postgres",
        "REVOPS_PG_HOST": server.host,
        "REVOPS_PG_PORT": str(server.port),
        "REVOPS_PG_USER": server.user,
        "REVOPS_PG_PASSWORD": "",
        "REVOPS_PG_DATABASE": postgres_warehouse.database,
        "REVOPS_PG_SERVED_SCHEMA": schema,
    }.items():
        monkeypatch.setenv(key, value)


def test_the_dashboards_read_side_reads_the_publish_served_in_postgres(
    postgres_warehouse, demo_warehouse, monkeypatch
):
    """REVOPS_SERVE_ENGINE=postgres: the pages' DuckDB SQL runs on the publish served in
    PostgreSQL, one publish per look, the as-of picker's days are the kept schemas."""
    from pathlib import Path

    import duckdb

    from dashboard import served
    from revops.metrics import SEMANTIC_MANIFEST_PATH, compile_metric_query, metric_database_name
    from revops.publish.postgres import publish_marts_postgres

    _read_from_postgres(monkeypatch, postgres_warehouse, "served_dash")
    path = served.served_path()
    assert path == Path("postgresql:revops/served_dash")
    assert served.file_stamp(path) is None  # nothing published there yet
    with served.open_served(path) as db:
        assert db is None

    serving = _serving(postgres_warehouse, "served_dash")
    day = demo_warehouse.as_of_date
    first = publish_marts_postgres(serving, _request(day - dt.timedelta(days=1), "run-dash1"))
    stamp = served.file_stamp(path)
    assert stamp.publish_id == first.publish_id

    sql = "select r.risk_level, count(*) from marts.deal_risk r join marts.dim_reps d using (owner_id) group by 1"
    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as duck:
        expected = sorted(duck.execute(sql).fetchall())
    with served.open_served(path) as db:
        db.require("marts.deal_risk", "main.publish_log")
        assert {f"marts.{m}" for m in MART_NAMES} <= db.tables()
        assert sorted(db.rows(sql)) == expected
        assert db.frame("select publish_id from main.publish_log")["publish_id"].tolist() == [
            first.publish_id
        ]
        # a publish in between: this look keeps reading the first publish (its kept schema)
        second = publish_marts_postgres(serving, _request(day, "run-dash2"))
        assert (
            db.rows("select count(*) from marts.pipeline_hygiene")[0][0]
            == first.mart_row_counts["pipeline_hygiene"]
        )
        assert db.rows("select publish_id from main.publish_log") == [(first.publish_id,)]
        headline = db.metrics("open_pipeline_headlines")
    assert served.file_stamp(path).publish_id == second.publish_id
    with served.open_served(path) as db:
        assert sorted(r[0] for r in db.rows("select publish_id from main.publish_log")) == sorted(
            [first.publish_id, second.publish_id]
        )
    # the metric layer's answer on PostgreSQL equals the same compiled query on the DuckDB build
    compiled = compile_metric_query(SEMANTIC_MANIFEST_PATH, saved_query="open_pipeline_headlines")
    with duckdb.connect() as duck:
        duck.execute(
            f"attach '{demo_warehouse.warehouse_path}' as {metric_database_name(SEMANTIC_MANIFEST_PATH)} (read_only)"
        )
        assert _same_numbers(headline.rows, duck.execute(compiled).fetchall())

    # the as-of picker: both days kept; the past one opens from its schema
    days = served.kept_days(path)
    assert [(d.publish_id, d.is_current) for d in days] == [
        (second.publish_id, True),
        (first.publish_id, False),
    ]
    with served.open_served(path, days[1].parquet_version) as db:
        assert db.rows(
            "select publish_id from served.main.publish_log where publish_id = ?", [first.publish_id]
        )
        assert sorted(db.rows(sql)) == expected
    with pytest.raises(served.DayNotKeptError), served.open_served(path, "served_dash__gone"):
        pass


def test_one_dashboard_page_in_the_browser_reads_postgres(
    postgres_warehouse, demo_warehouse, monkeypatch, tmp_path
):
    """Pipeline Health, served by Streamlit with REVOPS_SERVE_ENGINE=postgres, shows the
    company's numbers of the marts published in PostgreSQL (one page: the others read the same way)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboard"))
    from dashboard_harness import (
        browser_missing,
        error_boxes,
        open_page,
        start_browser,
        start_dashboard,
        stop_browser,
    )

    from dashboard import formatting as f
    from revops.publish.postgres import publish_marts_postgres

    if browser_missing():
        pytest.skip(browser_missing())
    publish_marts_postgres(_serving(postgres_warehouse, "served_page"), _request(demo_warehouse.as_of_date))
    _read_from_postgres(monkeypatch, postgres_warehouse, "served_page")
    _, [(deals, amount)] = postgres_warehouse.query(
        "select open_deal_count, open_amount from served_page.pipeline_hygiene where rollup_level = 'company'"
    )
    server = start_dashboard(tmp_path / "no-serve-folder", tmp_path)
    driver = start_browser()
    try:
        text = open_page(driver, f"{server.url}/")
        assert "Pipeline Health" in text
        assert f.count(deals) in text and f.money(amount) in text
        assert "Metric layer unavailable" not in text
        assert not error_boxes(driver), error_boxes(driver)
        assert "Traceback" not in server.log(), server.log()[-4000:]
    finally:
        stop_browser(driver)
        server.stop()


def test_a_publish_the_state_file_missed_is_recorded_there_by_the_next(
    postgres_warehouse, demo_warehouse, tmp_path
):
    from revops import state
    from revops.publish.postgres import publish_marts_postgres

    serving = _serving(postgres_warehouse, "served_state")
    state_file = tmp_path / "build.state.duckdb"

    def state_down(step: str) -> None:
        if step == "commit_state":
            raise OSError("disk full")

    day = demo_warehouse.as_of_date
    first = publish_marts_postgres(
        serving, _request(day, "run-lost"), state_path=state_file, on_step=state_down
    )
    assert first.published and "could not record it (OSError: disk full)" in first.detail
    assert _served_id(postgres_warehouse, "served_state") == first.publish_id  # BI reads it all the same
    assert not state.has_publish(state_file, first.publish_id)
    second = publish_marts_postgres(serving, _request(day, "run-next"), state_path=state_file)
    assert [r["publish_id"] for r in state.read_publish_log(state_file, limit=5)] == [
        second.publish_id,
        first.publish_id,
    ]
    assert state.last_good_raw_counts(state_file, "test:landing") == {"opportunity": 1500}
    # a failed run's alerts, recorded beside the marts without touching them
    from revops.publish.postgres import record_alerts_postgres

    failed = {
        "alert_id": "a-failed",
        "kind": "gate_failure",
        "severity": "blocking",
        "message": "raw: 3 bad ids",
    }
    assert record_alerts_postgres(serving, [failed]) == 1
    assert record_alerts_postgres(serving, [failed]) == 0
    _, rows = postgres_warehouse.query(
        "select kind, message from served_state_history.alerts where alert_id = 'a-failed'"
    )
    assert rows == [("gate_failure", "raw: 3 bad ids")]
    assert _served_id(postgres_warehouse, "served_state") == second.publish_id


def test_the_serve_engine_setting():
    from dashboard.settings import DashboardSettingError, serve_engine

    assert serve_engine({}) == "duckdb"
    assert serve_engine({"REVOPS_SERVE_ENGINE": " Postgres "}) == "postgres"
    with pytest.raises(
        DashboardSettingError, match="REVOPS_SERVE_ENGINE='snowflake': expected one of duckdb, postgres"
    ):
        serve_engine({"REVOPS_SERVE_ENGINE": "snowflake"})
