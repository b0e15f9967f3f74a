"""The daily schedule and the landing-folder sensor, evaluated as Dagster would."""

import datetime as dt
import os

import dagster as dg

from orchestration.jobs import revops_build_job
from orchestration.resources import WarehouseResource
from orchestration.schedules import build_daily_schedule, build_landing_sensor
from revops.settings import Settings


def _evaluate(sensor, cursor):
    with dg.build_sensor_context(cursor=cursor, resources={"warehouse": WarehouseResource()}) as context:
        result = sensor.evaluate_tick(context)
    return result


def test_sensor_fires_on_a_new_file_and_not_on_an_unchanged_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("REVOPS_LANDING_DIR", str(tmp_path))
    sensor = build_landing_sensor(revops_build_job)

    empty = _evaluate(sensor, None)
    assert not empty.run_requests and "nothing to watch: landing files in" in empty.skip_message

    (tmp_path / "opportunity.csv").write_text("id\n1\n")
    first = _evaluate(sensor, None)
    assert len(first.run_requests) == 1
    cursor = first.cursor

    unchanged = _evaluate(sensor, cursor)
    assert not unchanged.run_requests and "unchanged" in unchanged.skip_message

    (tmp_path / "lead.csv").write_text("id\n1\n")
    added = _evaluate(sensor, cursor)
    assert len(added.run_requests) == 1
    assert added.run_requests[0].run_key != first.run_requests[0].run_key


def test_sensor_fires_when_a_file_changes_and_ignores_hidden_files(tmp_path, monkeypatch):
    monkeypatch.setenv("REVOPS_LANDING_DIR", str(tmp_path))
    sensor = build_landing_sensor(revops_build_job)
    path = tmp_path / "opportunity.csv"
    path.write_text("id\n1\n")
    cursor = _evaluate(sensor, None).cursor

    (tmp_path / ".opportunity.csv.tmp").write_text("partial")
    assert not _evaluate(sensor, cursor).run_requests

    path.write_text("id\n1\n2\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert len(_evaluate(sensor, cursor).run_requests) == 1


def test_sensor_watches_the_database_file_of_a_connector_source(tmp_path, monkeypatch):
    import duckdb

    database = tmp_path / "fivetran.duckdb"
    monkeypatch.setenv("REVOPS_SOURCE", "fivetran_salesforce")
    monkeypatch.setenv("REVOPS_SOURCE_DATABASE", str(database))
    sensor = build_landing_sensor(revops_build_job)
    assert not _evaluate(sensor, None).run_requests  # no database yet

    with duckdb.connect(str(database)) as con:
        con.execute("create schema salesforce; create table salesforce.opportunity (id varchar)")
    first = _evaluate(sensor, None)
    assert len(first.run_requests) == 1
    assert "unchanged" in _evaluate(sensor, first.cursor).skip_message

    with duckdb.connect(str(database)) as con:  # the connector synced
        con.execute("insert into salesforce.opportunity values ('006000000000000001')")
    assert len(_evaluate(sensor, first.cursor).run_requests) == 1


def test_sensor_leaves_a_postgres_source_to_the_schedule(monkeypatch):
    monkeypatch.setenv("REVOPS_SOURCE", "fivetran_salesforce")
    monkeypatch.setenv("REVOPS_SOURCE_DATABASE", "postgresql://revops:secret@db:5432/crm")
    sensor = build_landing_sensor(revops_build_job)
    skipped = _evaluate(sensor, None)
    assert not skipped.run_requests
    assert "the daily schedule builds it" in skipped.skip_message
    assert "secret" not in skipped.skip_message


def test_daily_schedule_defaults_to_six_and_takes_its_time_from_settings():
    schedule = build_daily_schedule(revops_build_job, Settings.from_env({}))
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"

    weekdays = build_daily_schedule(
        revops_build_job,
        Settings.from_env(
            {"REVOPS_SCHEDULE_CRON": "30 5 * * 1-5", "REVOPS_SCHEDULE_TIMEZONE": "America/New_York"}
        ),
    )
    assert weekdays.cron_schedule == "30 5 * * 1-5"
    assert weekdays.execution_timezone == "America/New_York"

    with dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 23, 5, 30, tzinfo=dt.UTC)
    ) as context:
        result = weekdays.evaluate_tick(context)
    assert len(result.run_requests) == 1


def test_the_schedule_fixes_as_of_date_from_its_scheduled_time():
    """The run describes the UTC day of its scheduled time, however late it starts."""
    schedule = build_daily_schedule(
        revops_build_job, Settings.from_env({"REVOPS_SCHEDULE_TIMEZONE": "America/New_York"})
    )
    late_evening = dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with dg.build_schedule_context(scheduled_execution_time=late_evening) as context:
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.run_config == {"resources": {"warehouse": {"config": {"as_of_date": "2026-11-24"}}}}
    assert request.tags["revops/as_of_date"] == "2026-11-24"


def test_the_sensor_fixes_as_of_date_once_per_request(tmp_path, monkeypatch):
    monkeypatch.setenv("REVOPS_LANDING_DIR", str(tmp_path))
    monkeypatch.setenv("REVOPS_AS_OF_DATE", "2026-11-20")
    (tmp_path / "opportunity.csv").write_text("id\n1\n")
    (request,) = _evaluate(build_landing_sensor(revops_build_job), None).run_requests
    assert request.run_config["resources"]["warehouse"]["config"]["as_of_date"] == "2026-11-20"


def test_a_run_fixes_its_settings_when_it_starts(tmp_path, monkeypatch):
    """Every step of a run reads the same settings, as_of_date fixed, even if the
    environment changes while it runs."""
    monkeypatch.delenv("REVOPS_AS_OF_DATE", raising=False)
    seen = []

    @dg.asset
    def first(warehouse: WarehouseResource) -> None:
        seen.append(warehouse.settings())
        monkeypatch.setenv("REVOPS_AS_OF_DATE", "2001-01-01")  # as if the clock moved on

    @dg.asset(deps=[first])
    def second(warehouse: WarehouseResource) -> None:
        seen.append(warehouse.settings())

    resource = WarehouseResource(warehouse_path=str(tmp_path / "w.duckdb"), landing_dir=str(tmp_path))
    assert dg.materialize([first, second], resources={"warehouse": resource}).success
    assert seen[0].as_of_date is not None and seen[0] == seen[1]
    assert resource.settings().as_of_date == dt.date(2001, 1, 1)  # outside a run: read now
