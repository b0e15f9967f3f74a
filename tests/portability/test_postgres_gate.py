"""The raw gate in place on PostgreSQL gives the DuckDB gate's outcomes for the same data.

The demo landing files, spoiled in every way the suites look for (unknown owners, a
duplicate id, out-of-range amounts and dates, unknown stages, a soft-deleted bad row,
quotas off the first of the month, history before its deal, unlinked tasks, stale data,
a collapsed row count, a column the source did not track), are loaded into DuckDB by the
real ingestion and copied to a real PostgreSQL server by `copy_raw_to_postgres`. Then
`run_gate` runs on each: on DuckDB (GX on pandas, the SQL checks in DuckDB), and on
PostgreSQL (GX's SQL datasource for PostgreSQL, the same SQL checks in PostgreSQL).
Every check's name, status, failing rows, examples (with their file and line) and
message (what the alert says) must be equal.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import DEMO_AS_OF_DATE
from postgres_server import create_database

from revops.quality import gate_parameters, run_gate
from revops.quality.postgres import PostgresGateConnection, PostgresTarget
from revops.sources import SourceConfig, ingest_source
from revops.warehouse_targets import copy_raw_to_postgres


def _edit(folder: Path, obj: str, change) -> None:
    """`change(rows)` on the rows of `<obj>.csv` (dicts by header), written back."""
    path = folder / f"{obj}.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    rows = change(rows) or rows
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _spoil(folder: Path) -> None:
    def opportunities(rows):
        rows[3]["owner_id"] = "005000000000007777"  # no such user
        rows[4]["amount"] = "-5"
        rows[5]["stage_name"] = "Wishful Thinking"
        rows[6]["close_date"] = "2099-01-01"
        rows[7]["amount"] = "5000000000"  # above the cap (and an outlier)
        rows[8]["type"] = "Barter"
        rows[9]["probability"] = "250"  # untracked below: not tracked, on both
        rows[10]["amount"] = "-7"
        rows[10]["is_deleted"] = "true"  # soft-deleted: never counts
        rows[12]["created_date"] = "2035-03-01T10:00:00Z"
        rows.append(dict(rows[20]))  # a duplicate id, a line of its own

    def history(rows):
        rows[2]["created_date"] = "2001-01-01T00:00:00Z"  # long before its deal
        rows[3]["stage_name"] = "Unheard Of"
        rows[4]["opportunity_id"] = "006000000000009999"

    def quotas(rows):
        rows[1]["start_date"] = rows[1]["start_date"][:8] + "15"
        rows.append(dict(rows[2], id=rows[2]["id"][:-3] + "zzz"))  # a second quota that month

    def tasks(rows):
        for row in rows[: len(rows) * 2 // 3]:
            row["what_id"] = "006000000000008888"  # most tasks linked to nothing

    def spend(rows):
        rows[0]["month"] = rows[0]["month"][:8] + "02"
        rows.append(dict(rows[1]))  # month and channel twice

    def subscriptions(rows):
        rows[0]["end_date"] = "2001-01-01"

    def users(rows):
        rows[1]["manager_id"] = "005000000000006666"

    for obj, change in [
        ("opportunity", opportunities),
        ("opportunity_history", history),
        ("forecasting_quota", quotas),
        ("task", tasks),
        ("marketing_spend", spend),
        ("subscription", subscriptions),
        ("user", users),
    ]:
        if (folder / f"{obj}.csv").exists():
            _edit(folder, obj, change)


def _comparable(report) -> list[dict]:
    return [
        {
            **outcome.as_dict(),
            "details": outcome.details,
            "expectations": outcome.expectation_count,
            "not_tracked": outcome.not_tracked,
        }
        for outcome in report.outcomes
    ]


def test_the_gate_in_postgresql_reports_what_the_gate_in_duckdb_reports(
    postgres_server, demo_landing_dir, tmp_path
):
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing_dir, landing)
    _spoil(landing)
    database = "revops_gate_engines"
    create_database(postgres_server, database)
    target = PostgresTarget(postgres_server.dsn(database))

    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    try:
        ingest_source(con, SourceConfig(kind="salesforce_files", landing_dir=landing), raw_schema="raw")
        con.execute(
            "update raw._source_coverage set is_tracked = false "
            "where object_name = 'opportunity' and column_name = 'probability'"
        )
        copied = copy_raw_to_postgres(con, target.dsn, raw_schema="raw")
        assert {"raw._source_coverage", "raw._load_log", "raw.opportunity"} <= {c.table for c in copied}
        # ten days after the demo's day: the newest rows are stale (the freshness checks fail)
        as_of = DEMO_AS_OF_DATE + dt.timedelta(days=10)
        parameters = gate_parameters(as_of, today=as_of)
        counts = dict(con.execute("select 'account', count(*) * 3 from raw.account").fetchall())
        baseline = {**counts, "user": 1}  # account collapsed to a third of its last good load
        duck = run_gate(con, "raw", schema="raw", parameters=parameters, baseline_row_counts=baseline)
    finally:
        con.close()

    pg = PostgresGateConnection(target)
    try:
        postgres = run_gate(pg, "raw", schema="raw", parameters=parameters, baseline_row_counts=baseline)
    finally:
        pg.close()

    assert (duck.engine, postgres.engine) == ("duckdb", "postgres")
    assert "in PostgreSQL (database revops_gate_engines" in postgres.summary()
    duck_outcomes, pg_outcomes = _comparable(duck), _comparable(postgres)
    assert [o["check"] for o in pg_outcomes] == [o["check"] for o in duck_outcomes]
    for mine, theirs in zip(pg_outcomes, duck_outcomes, strict=True):
        assert mine == theirs, f"{theirs['table']}: {theirs['check']} differs"

    # the data is bad in every way meant: each spoiled check failed or warned, on both
    by_check = {(o["table"], o["check"]): o for o in duck_outcomes}
    expected_bad = {
        ("raw.opportunity", "owner_exists"),
        ("raw.opportunity", "id_unique"),
        ("raw.opportunity", "stage_known"),
        ("raw.opportunity", "amount_not_negative"),
        ("raw.opportunity", "amount_below_cap"),
        ("raw.opportunity", "close_date_plausible"),
        ("raw.opportunity", "dates_not_in_future"),
        ("raw.opportunity", "picklists_known"),
        ("raw.opportunity", "amount_not_outlier"),
        ("raw.opportunity_history", "stage_known"),
        ("raw.opportunity_history", "opportunity_exists"),
        ("raw.opportunity_history", "history_not_before_creation"),
        ("raw.forecasting_quota", "start_date_first_of_month"),
        ("raw.forecasting_quota", "one_quota_per_owner_month"),
        ("raw.task", "activities_linked"),
        ("raw.marketing_spend", "month_first_of_month"),
        ("raw.subscription", "end_date_not_before_start"),
        ("raw.user", "manager_exists"),
        ("raw.account", "row_count_not_collapsing"),
    }
    names = set(by_check)
    missing = {key for key in expected_bad if key not in names}
    assert not missing, f"no such checks: {sorted(missing)}; the suites have {sorted(names)}"
    still_passing = {key for key in expected_bad if by_check[key]["passed"]}
    assert not still_passing, still_passing
    assert by_check[("raw.opportunity", "probability_in_range")]["status"] == "not_tracked"
    assert not by_check[("raw.task", "fresh")]["passed"]  # the newest task is too old
    owner = by_check[("raw.opportunity", "owner_exists")]
    assert owner["failing_rows"] == 1 and "opportunity.csv line 5" in owner["message"], owner["message"]
    # the soft-deleted negative amount is not among the failures
    negative = by_check[("raw.opportunity", "amount_not_negative")]
    assert negative["failing_rows"] == 1 and "line 6" in negative["message"], negative["message"]


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("select ?", "select %s"),
        ("x > $max_share and y = $as_of_date", "x > %(max_share)s and y = %(as_of_date)s"),
        ("name like '5%'", "name like '5%%'"),
    ],
)
def test_duckdb_parameters_become_psycopg2_parameters(sql, expected):
    from revops.quality.postgres import postgres_sql

    assert postgres_sql(sql) == expected


def test_status_and_the_run_output_say_the_gate_ran_in_postgresql(monkeypatch):
    from revops.settings import Settings
    from revops_app.cli import gate_location
    from revops_app.run_report import GateSummary

    monkeypatch.setenv("REVOPS_DBT_TARGET", "postgres")
    monkeypatch.setenv("REVOPS_PG_HOST", "db.internal")
    monkeypatch.setenv("REVOPS_PG_DATABASE", "crm")
    assert gate_location(Settings.from_env({})).startswith(
        "in PostgreSQL (database crm on db.internal:5432, schema raw)"
    )
    monkeypatch.setenv("REVOPS_DBT_TARGET", "duckdb")
    assert gate_location(Settings.from_env({})) is None

    where = "PostgreSQL (database crm on db.internal:5432)"
    lines = GateSummary(passed={"raw gate": 3}, ran_in={"raw gate": where}).lines()
    assert lines[0].endswith(f"3 passed,   0 blocking failures,   0 warnings - ran in {where}"), lines
    assert "ran in" not in GateSummary(passed={"raw gate": 3}).lines()[0]
