"""The raw gate on data as real CRMs send it (issues 11 and 12), on small DuckDB tables
loaded by the real loader from hand-made landing files: soft-deleted rows, null
account ids, what the source did not track (`raw._source_coverage`), dates DuckDB
cannot hand to pandas, and the plausibility settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from revops.crm_contract import CRM_OBJECTS
from revops.landing import load_landing_folder
from revops.quality import GateSettings, gate_parameters, run_gate

AS_OF = dt.date(2026, 11, 23)
USERS = [["005000000000000001", "Ann", "ann@example.com", "", "Sales", "AE", "true", "2024-01-01T00:00:00Z"]]
ACCOUNTS = [
    [
        "001000000000000001",
        "Acme",
        "Software",
        "250",
        "1000000",
        "US",
        "005000000000000001",
        "2024-01-01T00:00:00Z",
    ]
]


def deal(i: int, **values: str) -> dict[str, str]:
    row = {
        "id": f"00600000000000{i:04d}",
        "account_id": "001000000000000001",
        "owner_id": "005000000000000001",
        "name": f"Deal {i}",
        "stage_name": "Problem Acknowledged",
        "amount": str(10_000 + i),
        "close_date": "2026-12-31",
        "created_date": "2026-06-01T10:00:00Z",
        "last_modified_date": "2026-11-22T10:00:00Z",
        "is_closed": "false",
        "is_won": "false",
        "forecast_category_name": "Pipeline",
        "probability": "10",
        "lead_source": "Web",
        "type": "New Business",
        "next_step": "",
        "next_step_date_c": "",
        "trigger_event_c": "",
        "technical_fit_c": "strong",
        "is_deleted": "false",
    }
    row.update(values)
    return row


def write(folder: Path, obj: str, rows: list) -> None:
    columns = CRM_OBJECTS[obj].required_columns
    lines = [",".join(columns)]
    for row in rows:
        values = [row.get(c, "") for c in columns] if isinstance(row, dict) else row
        lines.append(",".join(values))
    (folder / f"{obj}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def landing(tmp_path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    write(folder, "user", USERS)
    write(folder, "account", ACCOUNTS)
    return folder


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        yield connection


def gate(con, tables, settings: GateSettings | None = None):
    report = run_gate(
        con, "raw", schema="raw", parameters=gate_parameters(AS_OF, settings, today=AS_OF), tables=tables
    )
    return report, {o.check: o for o in report.outcomes}


# --------------------------------------------------------------------------- soft-deleted rows


def test_soft_deleted_rows_are_not_validated(landing, con):
    rows = [deal(i) for i in range(1, 6)]
    rows.append(
        deal(
            6,
            is_deleted="true",
            stage_name="Negotiation",
            owner_id="005000000000009999",
            account_id="001000000000009999",
            amount="-5",
        )
    )
    rows.append(deal(7, is_deleted="true", id="006000000000000001"))  # a deleted duplicate of deal 1
    write(landing, "opportunity", rows)
    load_landing_folder(con, landing, objects=["user", "account", "opportunity"])

    report, checks = gate(con, ["opportunity"])
    assert report.passed, [o.message for o in report.blocking_failures]
    for name in ("stage_known", "owner_exists", "account_exists", "amount_not_negative", "id_unique"):
        assert checks[name].passed, checks[name].message

    # the same row, live, is caught
    rows[5]["is_deleted"] = "false"
    write(landing, "opportunity", rows)
    load_landing_folder(con, landing, objects=["opportunity"])
    report, checks = gate(con, ["opportunity"])
    assert {"stage_known", "owner_exists", "account_exists", "amount_not_negative"} <= {
        o.check for o in report.blocking_failures
    }


def test_the_row_count_check_counts_every_loaded_row(landing, con):
    write(landing, "opportunity", [deal(1)] + [deal(i, is_deleted="true") for i in range(2, 11)])
    load_landing_folder(con, landing, objects=["user", "account", "opportunity"])
    report = run_gate(
        con,
        "raw",
        schema="raw",
        parameters=gate_parameters(AS_OF, today=AS_OF),
        tables=["opportunity"],
        baseline_row_counts={"opportunity": 10},
    )
    assert {o.check: o for o in report.outcomes}["row_count_not_collapsing"].passed


def test_a_null_account_id_is_legal(landing, con):
    write(landing, "opportunity", [deal(1, account_id=""), deal(2)])
    load_landing_folder(con, landing, objects=["user", "account", "opportunity"])
    report, checks = gate(con, ["opportunity"])
    assert report.passed and checks["account_exists"].passed


# --------------------------------------------------------------------------- source coverage


def coverage(con, rows):
    con.execute(
        "create or replace table raw._source_coverage (object_name varchar, column_name varchar, "
        "is_tracked boolean, row_count bigint, mapped_from varchar, source varchar)"
    )
    con.executemany("insert into raw._source_coverage values (?, ?, ?, ?, null, 'salesforce_files')", rows)


def test_checks_on_what_the_source_did_not_track_are_reported_not_tracked(landing, con):
    rows = [deal(1, probability=""), deal(2, probability="")]
    write(landing, "opportunity", rows)
    write(landing, "task", [])  # the source had no tasks: an empty table
    load_landing_folder(con, landing, objects=["user", "account", "opportunity", "task"])
    # probability is out of range in a way the source never said: an untracked column
    con.execute("update raw.opportunity set probability = 500")
    cov = [("opportunity", c, c != "probability", 2) for c in CRM_OBJECTS["opportunity"].columns]
    cov += [("task", c, False, 0) for c in CRM_OBJECTS["task"].columns]
    coverage(con, cov)

    report, checks = gate(con, ["opportunity", "task"])
    assert checks["probability_in_range"].status == "not_tracked"
    assert checks["probability_in_range"].passed  # never a failure ...
    assert "probability not tracked" in checks["probability_in_range"].message
    assert checks["stage_known"].status == "passed"
    task_checks = [o for o in report.outcomes if o.table == "task"]
    assert task_checks and all(o.status == "not_tracked" for o in task_checks)
    assert "the source has no task data" in task_checks[0].message
    # ... and never a pass
    summary = report.summary()
    not_tracked = len(report.not_tracked)
    assert not_tracked == len(task_checks) + 1
    passed = len(report.outcomes) - not_tracked - len(report.warnings) - len(report.blocking_failures)
    assert f"{passed} checks passed" in summary and f"{not_tracked} not tracked" in summary


def test_a_foreign_key_into_an_untracked_object_is_not_tracked(landing, con):
    write(landing, "opportunity", [deal(1, account_id="001000000000000042")])
    write(landing, "account", [])
    load_landing_folder(con, landing, objects=["user", "account", "opportunity"])
    coverage(con, [("account", c, False, 0) for c in CRM_OBJECTS["account"].columns])
    _, checks = gate(con, ["opportunity"])
    assert checks["account_exists"].status == "not_tracked"


def test_without_a_coverage_table_everything_is_tracked(landing, con):
    write(landing, "opportunity", [deal(1, probability="500")])
    load_landing_folder(con, landing, objects=["user", "account", "opportunity"])
    _, checks = gate(con, ["opportunity"])
    assert checks["probability_in_range"].status == "warned"


# --------------------------------------------------------------------------- dates pandas cannot hold


@pytest.mark.parametrize("value", [dt.date.max, dt.date(26, 12, 5), dt.date(1, 2, 3)])
def test_far_out_and_infinite_dates_fail_their_range_check_without_crashing(tmp_path, con, value):
    """Typed Parquet skips the text checks of the loader; DuckDB also stores infinity."""
    folder = tmp_path / "parquet_landing"
    folder.mkdir()
    write(folder, "user", USERS)
    table = pa.table(
        {
            "id": ["0J9000000000000001", "0J9000000000000002"],
            "quota_owner_id": ["005000000000000001"] * 2,
            "start_date": pa.array([dt.date(2026, 11, 1), value], pa.date32()),
            "quota_amount": [1000.0, 1000.0],
        }
    )
    pq.write_table(table, folder / "forecasting_quota.parquet")
    load_landing_folder(con, folder, objects=["user", "forecasting_quota"])
    if value == dt.date.max:
        con.execute("update raw.forecasting_quota set start_date = 'infinity' where id like '%2'")
    _report, checks = gate(con, ["forecasting_quota"])
    outcome = checks["start_date_plausible"]
    assert not outcome.passed and outcome.failing_rows == 1
    assert "forecasting_quota.parquet row 2" in outcome.message


# --------------------------------------------------------------------------- plausibility settings


def test_amount_cap_and_outlier_follow_their_settings(landing, con):
    rows = [deal(i, amount="20000") for i in range(1, 10)] + [deal(10, amount="3000000")]
    write(landing, "opportunity", rows)
    load_landing_folder(con, landing, objects=["user", "account", "opportunity"])

    _, checks = gate(con, ["opportunity"])
    assert checks["amount_below_cap"].passed
    outlier = checks["amount_not_outlier"]
    assert outlier.status == "warned" and outlier.failing_rows == 1
    assert "times_the_median=150.0" in outlier.message and "opportunity.csv line 11" in outlier.message

    strict = GateSettings(max_deal_amount=1_000_000, amount_outlier_factor=1000)
    _report, checks = gate(con, ["opportunity"], strict)
    assert checks["amount_below_cap"].status == "failed"
    assert checks["amount_not_outlier"].passed


def test_unlinked_activities_warn_below_the_share_and_block_above_it(landing, con):
    write(landing, "opportunity", [deal(1)])
    task = dict(zip(CRM_OBJECTS["task"].required_columns, [""] * 13, strict=False))
    task.update(
        owner_id="005000000000000001",
        subject="Call",
        task_subtype="Call",
        status="Completed",
        activity_date="2026-11-20",
        created_date="2026-11-20T10:00:00Z",
        is_closed="true",
        is_deleted="false",
    )
    tasks = [dict(task, id=f"00T00000000000{i:04d}", what_id="006000000000000001") for i in range(1, 8)]
    tasks += [dict(task, id=f"00T00000000001{i:04d}", what_id="500000000000000001") for i in range(1, 4)]
    write(landing, "task", tasks)
    load_landing_folder(con, landing, objects=["user", "account", "opportunity", "task"])

    _, checks = gate(con, ["task"])  # 3 of 10 unlinked: below the default 0.5
    assert checks["what_id_resolves"].status == "warned" and checks["what_id_resolves"].failing_rows == 3
    assert checks["activities_linked"].passed

    _, checks = gate(con, ["task"], GateSettings(max_unlinked_activity_share=0.2))
    assert checks["activities_linked"].status == "failed" and checks["activities_linked"].failing_rows == 3
    assert "unlinked_share=0.3" in checks["activities_linked"].message
    assert checks["what_id_resolves"].passed


def test_history_before_creation_allows_the_tolerance(landing, con):
    write(landing, "opportunity", [deal(1)])
    history_columns = CRM_OBJECTS["opportunity_history"].required_columns

    def history(i, created):
        values = {
            "id": f"008000000000{i:06d}",
            "opportunity_id": "006000000000000001",
            "stage_name": "Problem Acknowledged",
            "amount": "10001",
            "close_date": "2026-12-31",
            "probability": "10",
            "forecast_category": "Pipeline",
            "created_date": created,
            "is_deleted": "false",
        }
        return [values[c] for c in history_columns]

    write(
        landing,
        "opportunity_history",
        [
            history(1, "2026-06-01T09:00:00Z"),  # an hour before: clock skew, accepted
            history(2, "2025-04-27T10:00:00Z"),  # 400 days before
        ],
    )
    load_landing_folder(con, landing, objects=["user", "account", "opportunity", "opportunity_history"])
    _, checks = gate(con, ["opportunity_history"])
    outcome = checks["history_not_before_creation"]
    assert outcome.status == "failed" and outcome.failing_rows == 1
    assert "opportunity_history.csv line 3" in outcome.message
