"""Retention of past days in the serving folder: a publish keeps the last version of each of the
`days_kept` latest as_of_dates (the dashboard's as-of picker reads them), the current version and
the one before it, and removes the rest; a reader holding an old file keeps reading it.

A tiny working warehouse (one mart, no dbt) stands in for a build: what is tested is what the
publisher does with folders. Each publish is recognisable by its `marker` column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from revops.publish import PublishError, PublishRequest, publish_marts
from revops.publish.served import kept_days

MONDAY = dt.date(2026, 11, 23)


def publish(tmp_path: Path, day: dt.date, marker: str, days_kept: int):
    warehouse = tmp_path / "build.duckdb"
    warehouse.unlink(missing_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.deal_risk as select '{marker}' as marker, range as n from range(5)")
    return publish_marts(
        warehouse,
        tmp_path / "serve",
        PublishRequest(run_id=f"run-{marker}", as_of_date=day, marts=["deal_risk"], allow_older=True),
        days_kept=days_kept,
    )


def versions(tmp_path: Path) -> set[str]:
    return {p.name for p in (tmp_path / "serve" / "parquet").iterdir() if p.name.startswith("v-")}


def marker_of(tmp_path: Path, version: str) -> str:
    path = tmp_path / "serve" / "parquet" / version / "deal_risk.parquet"
    return duckdb.sql(f"select distinct marker from read_parquet('{path}')").fetchall()[0][0]


def test_keeps_the_last_publish_of_each_of_the_latest_days_and_prunes_the_rest(tmp_path):
    days = [MONDAY + dt.timedelta(days=i) for i in range(4)]
    first = publish(tmp_path, days[0], "d0", days_kept=3)
    publish(tmp_path, days[1], "d1-early", days_kept=3)
    d1_late = publish(tmp_path, days[1], "d1-late", days_kept=3)
    d2 = publish(tmp_path, days[2], "d2", days_kept=3)
    d3 = publish(tmp_path, days[3], "d3", days_kept=3)

    kept = kept_days(tmp_path / "serve")
    assert [d.as_of_date for d in kept] == [days[3], days[2], days[1]]  # the 3 latest days, newest first
    assert [d.publish_id for d in kept] == [d3.publish_id, d2.publish_id, d1_late.publish_id]
    assert [d.is_current for d in kept] == [True, False, False]
    # the earlier publish of day 1 is superseded by the later one; day 0 fell out of the 3 days
    assert versions(tmp_path) == {f"v-{r.publish_id}" for r in (d3, d2, d1_late)}
    assert f"v-{first.publish_id}" not in versions(tmp_path)
    assert marker_of(tmp_path, kept[2].parquet_version) == "d1-late"
    # the served DuckDB file holds the current marts only, as before
    with duckdb.connect(str(tmp_path / "serve" / "revops.duckdb"), read_only=True) as con:
        assert con.execute("select distinct marker from marts.deal_risk").fetchall() == [("d3",)]
        assert con.execute("select count(*) from main.publish_log").fetchone()[0] == 5  # the log keeps all


def test_one_day_kept_still_keeps_the_version_before_for_readers_mid_read(tmp_path):
    one = publish(tmp_path, MONDAY, "one", days_kept=1)
    two = publish(tmp_path, MONDAY + dt.timedelta(days=1), "two", days_kept=1)
    assert versions(tmp_path) == {f"v-{one.publish_id}", f"v-{two.publish_id}"}
    assert [d.as_of_date for d in kept_days(tmp_path / "serve")] == [MONDAY + dt.timedelta(days=1), MONDAY]

    three = publish(tmp_path, MONDAY + dt.timedelta(days=2), "three", days_kept=1)
    assert versions(tmp_path) == {f"v-{two.publish_id}", f"v-{three.publish_id}"}


def test_a_reader_holding_a_pruned_version_keeps_reading_it(tmp_path):
    old = publish(tmp_path, MONDAY, "old", days_kept=1)
    old_file = tmp_path / "serve" / "parquet" / f"v-{old.publish_id}" / "deal_risk.parquet"
    with open(old_file, "rb") as reader:  # a BI tool mid-read of the old day
        for i, marker in enumerate(("b", "c")):
            publish(tmp_path, MONDAY + dt.timedelta(days=i + 1), marker, days_kept=1)
        assert not old_file.exists(), "pruned: neither kept day, current, nor the version before"
        table = pq.ParquetFile(reader).read()
    assert table.num_rows == 5 and set(table.column("marker").to_pylist()) == {"old"}


def test_days_kept_below_one_is_refused_before_anything_is_published(tmp_path):
    with pytest.raises(PublishError, match=r"days_kept=0: expected 1 or more published days to keep"):
        publish(tmp_path, MONDAY, "none", days_kept=0)
    assert not (tmp_path / "serve" / "revops.duckdb").exists()
