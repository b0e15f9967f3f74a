"""The daily-increment sequence of tests/reliability/test_daily_increments.py on PostgreSQL:
the incremental staging models (macros/changed_rows.sql: a pre-hook DELETE by the changed
ids, an append, a checksum table) and fct_deal_snapshots built day after day on PostgreSQL
hold the rows a full rebuild of the same final inputs gives there, and so does the incremental
int_deal_forecast_buckets_daily (macros/changed_deal_days.sql).

The same four days (full files with a deal soft-deleted and one gone with its history,
tasks and events; change files with a late history row ten days back; a backdated close
date) are loaded into DuckDB as the pipeline loads them, raw copied to PostgreSQL after each
load (`copy_raw_to_postgres`, as a build on PostgreSQL does) and dbt only (no Dagster run)
builds the slice the incremental models are in: `+fct_deal_snapshots +int_deal_interactions
+int_deal_forecast_buckets_daily`,
without tests. The rebuild is a copy of the daily database (`create database ... template`,
as the DuckDB rebuild is a copy of the warehouse: the dbt snapshot, history no file holds,
kept), built from the reloaded raw with `--full-refresh`. DuckDB builds day 0 once: the hand-made cases pick their deals from its
marts. Skipped without the PostgreSQL server binaries, as tests/portability/test_postgres.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pytest
from conftest import run_dbt
from postgres_server import PostgresServer, create_database
from reliability.test_daily_increments import (
    BUILD_ONLY_MODELS,
    DAY0,
    INCREMENTAL_MODELS,
    Build,
    Sequence,
    build_sequence,
    duckdb_build,
)

from bench.compare import INCREMENTAL_STAGING, LOAD_COLUMNS, _difference

SLICE = ["+fct_deal_snapshots", "+int_deal_interactions", "+int_deal_forecast_buckets_daily"]
COMPARED = [
    *(f"staging.{t}" for t in INCREMENTAL_STAGING),
    "intermediate.int_deal_interactions",
    "marts.fct_deal_snapshots",
    "intermediate.int_deal_forecast_buckets_daily",
]


def _postgres_build(server: PostgresServer) -> Build:
    from revops.warehouse_targets import copy_raw_to_postgres

    created: set[str] = set()

    def build(warehouse: Path, target: Path, day: dt.date, full_refresh: bool) -> set[str]:
        database = "rebuilt" if full_refresh else "daily"
        if database not in created:
            create_database(server, database, template="daily" if full_refresh else None)
            created.add(database)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            copy_raw_to_postgres(con, server.dsn(database), raw_schema="raw")
        if day == DAY0 and not full_refresh:
            duckdb_build(warehouse, target / "duckdb", day, False)
        pg_target = target / database
        with pytest.MonkeyPatch.context() as env:
            env.setenv("REVOPS_PG_HOST", server.host)
            env.setenv("REVOPS_PG_PORT", str(server.port))
            env.setenv("REVOPS_PG_USER", server.user)
            env.setenv("REVOPS_PG_PASSWORD", "")
            env.setenv("REVOPS_PG_DATABASE", database)
            env.setenv("REVOPS_DBT_THREADS", os.environ.get("REVOPS_DBT_THREADS", "4"))
            run_dbt(
                [
                    "build",
                    "--target",
                    "postgres",
                    *BUILD_ONLY_MODELS,
                    "--select",
                    *SLICE,
                    *(["--full-refresh"] if full_refresh else []),
                ],
                warehouse_path=warehouse,
                target_path=pg_target,
                dbt_vars={"as_of_date": day.isoformat()},
            )
        results = json.loads((pg_target / "run_results.json").read_text())["results"]
        return {
            r["unique_id"].split(".")[-1]
            for r in results
            if r["unique_id"].split(".")[-1] in INCREMENTAL_MODELS
            and "_loaded_at >" in (r["compiled_code"] or "")
        }

    return build


@pytest.fixture(scope="module")
def postgres_sequence(postgres_server, tmp_path_factory) -> Sequence:
    return build_sequence(tmp_path_factory.mktemp("pg_daily_increments"), _postgres_build(postgres_server))


def _rows(server: PostgresServer, database: str, table: str) -> tuple[list[str], list[tuple]]:
    import psycopg2

    schema, name = table.split(".")
    with psycopg2.connect(server.dsn(database)) as con, con.cursor() as cur:
        cur.execute(
            "select column_name from information_schema.columns where table_schema = %s "
            "and table_name = %s order by ordinal_position",
            [schema, name],
        )
        columns = [r[0] for r in cur.fetchall() if r[0] not in LOAD_COLUMNS]
        cur.execute(f'select {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} from {schema}."{name}"')
        return columns, cur.fetchall()


def test_daily_increments_on_postgres_equal_a_full_rebuild(postgres_sequence, postgres_server):
    # days 1 to 3 took only the changed raw rows; day 0 and the rebuild all of raw
    assert {day: sorted(models) for day, models in postgres_sequence.changed_only.items()} == {
        0: [],
        1: sorted(INCREMENTAL_MODELS),
        2: sorted(INCREMENTAL_MODELS),
        3: sorted(INCREMENTAL_MODELS),
        4: [],
    }
    differences = {}
    for table in COMPARED:
        daily_columns, daily_rows = _rows(postgres_server, "daily", table)
        full_columns, full_rows = _rows(postgres_server, "rebuilt", table)
        assert daily_rows, table
        differences[table] = _difference(daily_columns, daily_rows, full_columns, full_rows)
    assert differences == dict.fromkeys(COMPARED, "")
    # the deleted deals left the daily snapshots
    columns, snapshots = _rows(postgres_server, "daily", "marts.fct_deal_snapshots")
    ids = {row[columns.index("opportunity_id")] for row in snapshots}
    assert postgres_sequence.soft not in ids and postgres_sequence.hard not in ids
