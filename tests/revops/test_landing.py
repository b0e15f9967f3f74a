"""The landing loader on real files: small hand-made CSV and Parquet files loaded into
a real DuckDB warehouse file in tmp_path."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from revops.crm_contract import CRM_OBJECTS
from revops.landing import (
    LandingFileError,
    find_landing_file,
    load_landing_folder,
    load_landing_object,
    normalize_column_name,
)

SAMPLE_VALUES = {
    "VARCHAR": "x",
    "BOOLEAN": "false",
    "BIGINT": "120",
    "DOUBLE": "1500.5",
    "DATE": "2024-01-31",
    "TIMESTAMP": "2024-01-31T10:00:00Z",
}


def api_name(column: str) -> str:
    """`stage_name` -> `StageName`, `next_step_date_c` -> `Next_Step_Date__c`."""
    if column.endswith("_c"):
        return "_".join(p.capitalize() for p in column[:-2].split("_")) + "__c"
    return "".join(p.capitalize() for p in column.split("_"))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sample_rows(object_name: str, n: int = 2) -> list[list[str]]:
    """n rows of valid values for every required column of the object."""
    columns = CRM_OBJECTS[object_name].columns
    return [
        [f"{object_name}-{i}" if col == "id" else SAMPLE_VALUES[t] for col, t in columns.items()]
        for i in range(1, n + 1)
    ]


def write_object(folder: Path, object_name: str, *, camel: bool = False, rows=None) -> Path:
    header = CRM_OBJECTS[object_name].required_columns
    stem = object_name
    if camel:
        header = [api_name(c) for c in header]
        stem = api_name(object_name)
    return write_csv(folder / f"{stem}.csv", header, sample_rows(object_name) if rows is None else rows)


@pytest.fixture
def landing(tmp_path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        yield connection


def column_types(con, table: str, schema: str = "raw") -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return dict(rows)


OPPORTUNITY_HEADER = CRM_OBJECTS["opportunity"].required_columns


def opportunity_row(**values: str) -> list[str]:
    row = dict(zip(OPPORTUNITY_HEADER, sample_rows("opportunity", 1)[0], strict=False))
    row.update(values)
    return [row[c] for c in OPPORTUNITY_HEADER]


# --------------------------------------------------------------------------- names and files


@pytest.mark.parametrize(
    "header, expected",
    [
        ("StageName", "stage_name"),
        ("Next_Step_Date__c", "next_step_date_c"),
        ("IsDeleted", "is_deleted"),
        ("ForecastCategoryName", "forecast_category_name"),
        ("Id", "id"),
        ("CompletedDateTime", "completed_date_time"),
        ("QuotaOwnerId", "quota_owner_id"),
        ("NumberOfEmployees", "number_of_employees"),
        ("stage_name", "stage_name"),
        ("next_step_date_c", "next_step_date_c"),
        ("\ufeffId", "id"),
        ("  Stage Name ", "stage_name"),
        ("AccountID", "account_id"),
    ],
)
def test_normalize_column_name(header, expected):
    assert normalize_column_name(header) == expected


@pytest.mark.parametrize(
    "file_name, object_name",
    [
        ("opportunity.csv", "opportunity"),
        ("Opportunity.csv", "opportunity"),
        ("OpportunityHistory.parquet", "opportunity_history"),
        ("ForecastingQuota.csv", "forecasting_quota"),
        ("TASK.CSV.GZ", "task"),
        ("opportunity_history.csv", "opportunity_history"),
    ],
)
def test_find_landing_file_accepts_snake_and_camel_case_stems(landing, file_name, object_name):
    (landing / file_name).write_text("id\n")
    (landing / ".partial.opportunity.csv").write_text("id\n")  # hidden files are ignored
    assert find_landing_file(landing, object_name) == landing / file_name


def test_find_landing_file_does_not_confuse_opportunity_and_its_history(landing):
    (landing / "opportunity_history.csv").write_text("id\n")
    with pytest.raises(LandingFileError, match="No landing file for opportunity in"):
        find_landing_file(landing, "opportunity")


def test_missing_landing_file_names_the_folder_and_what_was_expected(landing):
    (landing / "account.csv").write_text("id\n")
    with pytest.raises(LandingFileError) as info:
        find_landing_file(landing, "opportunity")
    message = str(info.value)
    assert str(landing) in message
    assert "opportunity.csv" in message and "opportunity.parquet" in message
    assert "account.csv" in message  # what the folder does have


def test_two_candidate_files_are_ambiguous(landing):
    (landing / "opportunity.csv").write_text("id\n")
    (landing / "Opportunity.parquet").write_bytes(b"")
    with pytest.raises(LandingFileError, match="More than one landing file for opportunity"):
        find_landing_file(landing, "opportunity")


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("camel", [False, True], ids=["snake_case", "CamelCase"])
def test_every_object_loads_with_its_declared_types(landing, con, camel):
    for name in CRM_OBJECTS:
        write_object(landing, name, camel=camel)

    results = load_landing_folder(con, landing)

    assert [r.object_name for r in results] == list(CRM_OBJECTS)
    for obj in CRM_OBJECTS.values():
        expected = {
            **obj.columns,
            "_source_file": "VARCHAR",
            "_source_row": "BIGINT",
            "_loaded_at": "TIMESTAMP",
        }
        assert column_types(con, obj.name) == expected
        assert con.execute(f'select count(*) from raw."{obj.name}"').fetchone()[0] == 2
    # `user` is a reserved word in some engines: the table is quoted, and there
    assert con.execute('select id from raw."user" order by id').fetchall() == [("user-1",), ("user-2",)]


def test_values_are_typed(landing, con):
    write_csv(
        landing / "account.csv",
        CRM_OBJECTS["account"].required_columns,
        [
            ["001A", "Acme", "Software", "250", "1250000.75", "US", "005A", "2024-01-05T10:00:00Z"],
            ["001B", "Beta", "", "1500.0", "-3", "", "005A", "2024-01-05"],
        ],
    )
    load_landing_object(con, "account", landing)
    rows = con.execute(
        "select id, industry, number_of_employees, annual_revenue, billing_country, created_date "
        "from raw.account order by id"
    ).fetchall()
    assert rows == [
        ("001A", "Software", 250, 1250000.75, "US", dt.datetime(2024, 1, 5, 10, 0)),
        ("001B", None, 1500, -3.0, None, dt.datetime(2024, 1, 5, 0, 0)),  # empty -> NULL
    ]


def test_booleans_accept_true_false_1_0_in_any_case(landing, con):
    rows = [
        opportunity_row(id="o1", is_closed="true", is_won="FALSE", is_deleted="0"),
        opportunity_row(id="o2", is_closed="True", is_won="1", is_deleted=""),
    ]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    load_landing_object(con, "opportunity", landing)
    assert con.execute(
        "select id, is_closed, is_won, is_deleted from raw.opportunity order by id"
    ).fetchall() == [("o1", True, False, False), ("o2", True, True, None)]


def test_timestamps_with_z_or_offset_are_stored_in_utc(landing, con):
    rows = [
        opportunity_row(id="o1", created_date="2024-03-10T10:00:00Z", close_date="2024-03-31"),
        opportunity_row(
            id="o2", created_date="2024-03-10T10:00:00+02:00", close_date="2024-03-31T23:30:00-05:00"
        ),
        opportunity_row(id="o3", created_date="2024-03-10 23:30:00-0500", close_date="2024-03-31T10:00:00Z"),
        opportunity_row(id="o4", created_date="2024-03-10T10:00:00", close_date="2024-03-31"),
        opportunity_row(id="o5", created_date="2024-03-10T10:00:00.250Z", close_date=""),
    ]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    # a session time zone other than UTC must not change what a timestamp means
    con.execute("set TimeZone = 'America/New_York'")

    load_landing_object(con, "opportunity", landing)

    assert con.execute("select id, created_date, close_date from raw.opportunity order by id").fetchall() == [
        ("o1", dt.datetime(2024, 3, 10, 10, 0), dt.date(2024, 3, 31)),
        ("o2", dt.datetime(2024, 3, 10, 8, 0), dt.date(2024, 4, 1)),  # the UTC date
        ("o3", dt.datetime(2024, 3, 11, 4, 30), dt.date(2024, 3, 31)),
        ("o4", dt.datetime(2024, 3, 10, 10, 0), dt.date(2024, 3, 31)),  # no offset: UTC
        ("o5", dt.datetime(2024, 3, 10, 10, 0, 0, 250000), None),
    ]
    assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "America/New_York"


def test_extra_columns_are_kept_as_text_after_the_declared_ones(landing, con):
    header = [api_name(c) for c in OPPORTUNITY_HEADER] + ["Region__c", "Partner Score"]
    write_csv(landing / "Opportunity.csv", header, [[*opportunity_row(), "EMEA", "42"]])

    result = load_landing_object(con, "opportunity", landing)

    assert result.extra_columns == ["region_c", "partner_score"]
    types = column_types(con, "opportunity")
    assert list(types)[-5:] == ["region_c", "partner_score", "_source_file", "_source_row", "_loaded_at"]
    assert types["region_c"] == types["partner_score"] == "VARCHAR"
    assert con.execute("select region_c, partner_score from raw.opportunity").fetchone() == ("EMEA", "42")


def test_header_columns_in_any_order_load_in_contract_order(landing, con):
    header = list(reversed(CRM_OBJECTS["forecasting_quota"].required_columns))
    write_csv(landing / "forecasting_quota.csv", header, [["250000", "2024-01-01", "005A", "q1"]])
    load_landing_object(con, "forecasting_quota", landing)
    assert con.execute(
        "select id, quota_owner_id, start_date, quota_amount from raw.forecasting_quota"
    ).fetchone() == ("q1", "005A", dt.date(2024, 1, 1), 250000.0)
    assert (
        list(column_types(con, "forecasting_quota"))[:4] == CRM_OBJECTS["forecasting_quota"].required_columns
    )


def test_each_row_records_its_file_line_and_load_time(landing, con):
    rows = sample_rows("forecasting_quota", 3)
    rows[1][0] = '"q,2"'  # a quoted comma stays one value
    write_csv(landing / "ForecastingQuota.csv", CRM_OBJECTS["forecasting_quota"].required_columns, rows)
    loaded_at = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))

    result = load_landing_object(con, "forecasting_quota", landing, loaded_at=loaded_at)

    assert result.row_count == 3
    assert result.table == "raw.forecasting_quota"
    assert result.source_file == landing / "ForecastingQuota.csv"
    assert con.execute(
        "select id, _source_file, _source_row, _loaded_at from raw.forecasting_quota order by _source_row"
    ).fetchall() == [
        ("forecasting_quota-1", "ForecastingQuota.csv", 2, dt.datetime(2024, 5, 1, 10, 0)),
        ("q,2", "ForecastingQuota.csv", 3, dt.datetime(2024, 5, 1, 10, 0)),
        ("forecasting_quota-3", "ForecastingQuota.csv", 4, dt.datetime(2024, 5, 1, 10, 0)),
    ]


def test_gzipped_csv_loads(landing, con):
    text = "id,quota_owner_id,start_date,quota_amount\nq1,005A,2024-01-01,1000\n"
    (landing / "forecasting_quota.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert load_landing_object(con, "forecasting_quota", landing).row_count == 1


def test_a_rerun_of_the_same_files_gives_the_same_rows(landing, con):
    write_object(landing, "opportunity")
    load_landing_object(con, "opportunity", landing)
    first = con.execute("select * exclude (_loaded_at) from raw.opportunity order by id").fetchall()

    load_landing_object(con, "opportunity", landing)

    assert con.execute("select * exclude (_loaded_at) from raw.opportunity order by id").fetchall() == first
    assert con.execute("select count(*) from raw.opportunity").fetchone()[0] == 2
    assert con.execute("select count(*) from raw._load_log").fetchone()[0] == 1


def test_load_log_records_the_file_and_the_previous_count(landing, con):
    path = write_object(landing, "forecasting_quota", rows=sample_rows("forecasting_quota", 3))
    load_landing_object(con, "forecasting_quota", landing, loaded_at=dt.datetime(2024, 5, 1))
    load_landing_object(con, "forecasting_quota", landing, loaded_at=dt.datetime(2024, 5, 2))  # same file
    write_object(landing, "forecasting_quota", rows=sample_rows("forecasting_quota", 1))
    load_landing_object(con, "forecasting_quota", landing, loaded_at=dt.datetime(2024, 5, 3))

    log = con.execute(
        'select "object", source_file, file_size_bytes, file_modified_at, file_fingerprint, '
        "row_count, loaded_at, previous_row_count, previous_loaded_at from raw._load_log"
    ).fetchall()
    assert len(log) == 1
    obj, source_file, size, modified, fingerprint, rows, loaded_at, previous_rows, previous_at = log[0]
    assert (obj, source_file, size, rows) == (
        "forecasting_quota",
        "forecasting_quota.csv",
        path.stat().st_size,
        1,
    )
    assert modified == dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
    assert len(fingerprint) == 64
    assert loaded_at == dt.datetime(2024, 5, 3)
    # the previous load of a *different* file: re-running one file does not hide a drop
    assert (previous_rows, previous_at) == (3, dt.datetime(2024, 5, 2))


def test_header_only_file_loads_zero_rows(landing, con):
    write_csv(landing / "lead.csv", CRM_OBJECTS["lead"].required_columns, [])
    result = load_landing_object(con, "lead", landing)
    assert result.row_count == 0
    assert column_types(con, "lead")["created_date"] == "TIMESTAMP"


def test_utf8_text_with_bom_and_crlf_line_ends_loads(landing, con):
    text = "\ufeffId,QuotaOwnerId,StartDate,QuotaAmount\r\nq1,Zoë Müller,2024-01-01,1000\r\n"
    (landing / "forecasting_quota.csv").write_bytes(text.encode("utf-8"))
    load_landing_object(con, "forecasting_quota", landing)
    assert con.execute("select id, quota_owner_id from raw.forecasting_quota").fetchall() == [
        ("q1", "Zoë Müller")
    ]


# --------------------------------------------------------------------------- parquet


def test_parquet_with_native_types_loads(landing, con):
    table = pa.table(
        {
            "Id": ["q1", "q2"],
            "QuotaOwnerId": ["005A", "005B"],
            "StartDate": pa.array([dt.date(2024, 1, 1), dt.date(2024, 2, 1)], pa.date32()),
            "QuotaAmount": pa.array([1000, 2500], pa.int32()),  # widened to DOUBLE
            "Region__c": pa.array([1, None], pa.int64()),  # extra: kept as text
        }
    )
    pq.write_table(table, landing / "ForecastingQuota.parquet")

    result = load_landing_object(con, "forecasting_quota", landing)

    assert result.extra_columns == ["region_c"]
    assert column_types(con, "forecasting_quota")["quota_amount"] == "DOUBLE"
    assert con.execute(
        "select id, start_date, quota_amount, region_c, _source_file, _source_row "
        "from raw.forecasting_quota order by id"
    ).fetchall() == [
        ("q1", dt.date(2024, 1, 1), 1000.0, "1", "ForecastingQuota.parquet", 1),
        ("q2", dt.date(2024, 2, 1), 2500.0, None, "ForecastingQuota.parquet", 2),
    ]


def test_parquet_timestamps_are_stored_in_utc(landing, con):
    columns = CRM_OBJECTS["event"].columns
    data = {c: pa.array(["x"]) for c in columns}
    data["is_deleted"] = pa.array([False])
    # aware timestamps are converted to UTC; text is parsed as in CSV; naive means UTC
    data["start_date_time"] = pa.array(
        [dt.datetime(2024, 3, 10, 10, 0, tzinfo=dt.UTC)], pa.timestamp("us", tz="Europe/Paris")
    )
    data["end_date_time"] = pa.array(["2024-03-10T11:00:00+01:00"])
    data["created_date"] = pa.array([dt.datetime(2024, 3, 1, 9, 0)], pa.timestamp("ns"))
    pq.write_table(pa.table(data), landing / "event.parquet")

    load_landing_object(con, "event", landing)

    assert con.execute("select start_date_time, end_date_time, created_date from raw.event").fetchone() == (
        dt.datetime(2024, 3, 10, 10, 0),
        dt.datetime(2024, 3, 10, 10, 0),
        dt.datetime(2024, 3, 1, 9, 0),
    )
    assert column_types(con, "event")["start_date_time"] == "TIMESTAMP"


def test_parquet_bad_text_value_names_the_row(landing, con):
    pq.write_table(
        pa.table(
            {
                "id": ["q1", "q2"],
                "quota_owner_id": ["005A", "005B"],
                "start_date": ["2024-01-01", "January"],
                "quota_amount": [1.0, 2.0],
            }
        ),
        landing / "forecasting_quota.parquet",
    )
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "forecasting_quota", landing)
    assert "column start_date" in str(info.value)
    assert "row 2: 'January'" in str(info.value)


# --------------------------------------------------------------------------- errors


def test_missing_column_error_names_the_file_the_column_and_what_was_found(landing, con):
    # stage_name and amount are part of the minimum; next_step_date_c is optional
    header = [c for c in OPPORTUNITY_HEADER if c not in ("stage_name", "amount", "next_step_date_c")]
    write_csv(landing / "opportunity.csv", header, [])

    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "opportunity", landing)

    error = info.value
    message = str(error)
    assert str(landing / "opportunity.csv") in message
    assert "missing the required columns stage_name, amount (the minimum opportunity needs" in message
    assert "Columns found: id, account_id" in message
    assert error.columns == ["stage_name", "amount"]
    assert error.file == landing / "opportunity.csv"


def test_an_optional_column_the_file_lacks_is_loaded_as_null_and_reported_not_tracked(landing, con):
    header = [c for c in OPPORTUNITY_HEADER if c not in ("next_step_date_c", "trigger_event_c")]
    row = opportunity_row(id="o1")
    write_csv(landing / "opportunity.csv", header, [[row[OPPORTUNITY_HEADER.index(c)] for c in header]])

    result = load_landing_object(con, "opportunity", landing)

    assert result.row_count == 1
    assert result.mapped_from["next_step_date_c"] is None
    assert result.mapped_from["stage_name"] == "opportunity.csv: stage_name"
    columns = [r[0] for r in con.execute("describe raw.opportunity").fetchall()]
    assert columns[: len(OPPORTUNITY_HEADER)] == OPPORTUNITY_HEADER  # the contract's shape, always
    assert con.execute("select next_step_date_c, trigger_event_c from raw.opportunity").fetchall() == [
        (None, None)
    ]
    assert (
        dict(
            con.execute("describe raw.opportunity").fetchall()[i][:2] for i in range(len(OPPORTUNITY_HEADER))
        )["next_step_date_c"]
        == "DATE"
    )


def test_a_mapping_renames_a_custom_field_and_keeps_the_stale_one_as_an_extra(landing, con):
    from revops.sources.mapping import ObjectMapping

    header = [*OPPORTUNITY_HEADER, "Next_Meeting__c"]
    row = [*opportunity_row(id="o1"), "2024-03-01"]
    write_csv(landing / "opportunity.csv", header, [row])
    mapping = ObjectMapping("opportunity", "opportunity", {"next_step_date_c": "Next_Meeting__c"})

    result = load_landing_object(con, "opportunity", landing, mapping=mapping)

    assert result.mapped_from["next_step_date_c"] == "opportunity.csv: next_meeting_c"
    assert (
        con.execute("select next_step_date_c from raw.opportunity").fetchone()[0].isoformat() == "2024-03-01"
    )
    assert "next_step_date_c_unmapped" in result.extra_columns


def test_a_mapping_naming_a_column_the_file_lacks_is_an_error(landing, con):
    from revops.sources.mapping import ObjectMapping

    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, [opportunity_row(id="o1")])
    mapping = ObjectMapping("opportunity", "opportunity", {"next_step_date_c": "Next_Meeting__c"})

    with pytest.raises(LandingFileError, match="comes from column 'next_meeting_c'"):
        load_landing_object(con, "opportunity", landing, mapping=mapping)


def test_an_optional_object_without_a_file_is_none_and_a_required_one_an_error(landing, con):
    assert load_landing_object(con, "task", landing) is None
    with pytest.raises(LandingFileError, match="No landing file for opportunity"):
        load_landing_object(con, "opportunity", landing)


def test_uncastable_values_name_file_column_line_and_value(landing, con):
    rows = [
        opportunity_row(id="o1"),
        opportunity_row(id="o2", amount='"12,5"'),
        opportunity_row(id="o3", amount="n/a", close_date="31/12/2024"),
        opportunity_row(id="o4", is_won="yes"),
    ]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)

    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "opportunity", landing)

    error = info.value
    message = str(error)
    assert str(landing / "opportunity.csv") in message
    # every failing column, in one error, with line numbers (header = line 1)
    assert "column amount should be a number" in message
    assert "line 3: '12,5', line 4: 'n/a'" in message
    assert "column close_date should be a date written YYYY-MM-DD" in message
    assert "line 4: '31/12/2024'" in message
    assert "column is_won should be true or false" in message
    assert "line 5: 'yes'" in message
    assert error.columns == ["amount", "close_date", "is_won"]
    assert error.row_count == 3
    assert {"column": "amount", "line": 3, "value": "12,5"} in error.examples
    assert "\n" not in message


def test_uncastable_value_error_shows_at_most_five_examples_and_the_full_count(landing, con):
    rows = [opportunity_row(id=f"o{i}", probability=f"{i}%") for i in range(8)]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "opportunity", landing)
    [problem] = info.value.problems
    assert problem.bad_row_count == 8
    assert [e.line for e in problem.examples] == [2, 3, 4, 5, 6]
    assert "8 rows are not (first five)" in str(info.value)


def test_fractional_whole_number_is_an_error(landing, con):
    row = dict(zip(CRM_OBJECTS["account"].required_columns, sample_rows("account", 1)[0], strict=False))
    row["number_of_employees"] = "12.5"
    write_csv(landing / "account.csv", list(row), [list(row.values())])
    with pytest.raises(LandingFileError, match="column number_of_employees should be a whole number"):
        load_landing_object(con, "account", landing)


def test_empty_file_is_an_error_that_says_what_was_expected(landing, con):
    (landing / "forecasting_quota.csv").write_bytes(b"")
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "forecasting_quota", landing)
    message = str(info.value)
    assert str(landing / "forecasting_quota.csv") in message
    assert "the file is empty" in message
    assert "expected a header row with columns id, quota_owner_id, start_date, quota_amount" in message


def test_non_utf8_file_is_an_error(landing, con):
    text = "id,quota_owner_id,start_date,quota_amount\nq1,Zo\xeb,2024-01-01,1000\n"
    (landing / "forecasting_quota.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "forecasting_quota", landing)
    message = str(info.value)
    assert str(landing / "forecasting_quota.csv") in message
    assert "not UTF-8" in message
    assert info.value.line == 2


def test_truncated_file_is_an_error_naming_the_line(landing, con):
    text = "id,quota_owner_id,start_date,quota_amount\nq1,005A,2024-01-01,1000\nq2,005A,2024-0"
    (landing / "forecasting_quota.csv").write_text(text)
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "forecasting_quota", landing)
    message = str(info.value)
    assert str(landing / "forecasting_quota.csv") in message
    assert "line 3" in message and "3 values where the header has 4 columns" in message
    assert info.value.line == 3


def test_row_with_too_many_values_is_an_error(landing, con):
    text = "id,quota_owner_id,start_date,quota_amount\nq1,005A,2024-01-01,1,000\n"
    (landing / "forecasting_quota.csv").write_text(text)
    with pytest.raises(LandingFileError, match=r"line 2 .* has 5 values where the header has 4 columns"):
        load_landing_object(con, "forecasting_quota", landing)


def test_unterminated_quote_is_an_error(landing, con):
    text = 'id,quota_owner_id,start_date,quota_amount\nq1,"005A,2024-01-01,1000\nq2,005B,2024-01-01,5\n'
    (landing / "forecasting_quota.csv").write_text(text)
    with pytest.raises(LandingFileError, match=r"line 2 .*unterminated quote"):
        load_landing_object(con, "forecasting_quota", landing)


def test_headers_that_mean_the_same_column_are_an_error(landing, con):
    write_csv(
        landing / "forecasting_quota.csv", ["Id", "id", "quota_owner_id", "start_date", "quota_amount"], []
    )
    with pytest.raises(LandingFileError, match="columns 1 and 2 of the header both mean id"):
        load_landing_object(con, "forecasting_quota", landing)


def test_unreadable_parquet_is_an_error(landing, con):
    (landing / "forecasting_quota.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(LandingFileError, match="not a readable Parquet file"):
        load_landing_object(con, "forecasting_quota", landing)


@pytest.mark.parametrize(
    "bad_file",
    [
        "id,quota_owner_id,start_date,quota_amount\nq9,005A,2024-01-01,lots\n",  # bad value
        "id,quota_owner_id,start_date,quota_amount\nq9,005A\n",  # ragged
        "id,quota_owner_id,start_date\nq9,005A,2024-01-01\n",  # missing column
    ],
    ids=["bad-value", "ragged", "missing-column"],
)
def test_a_failed_load_leaves_the_previous_table_and_log_untouched(landing, con, bad_file):
    write_object(landing, "forecasting_quota")
    load_landing_object(con, "forecasting_quota", landing)
    before = con.execute("select * from raw.forecasting_quota order by id").fetchall()
    log_before = con.execute("select * from raw._load_log").fetchall()

    (landing / "forecasting_quota.csv").write_text(bad_file)
    with pytest.raises(LandingFileError):
        load_landing_object(con, "forecasting_quota", landing)

    assert con.execute("select * from raw.forecasting_quota order by id").fetchall() == before
    assert con.execute("select * from raw._load_log").fetchall() == log_before
    # the connection is usable afterwards (no transaction left open)
    write_object(landing, "forecasting_quota", rows=sample_rows("forecasting_quota", 3))
    assert load_landing_object(con, "forecasting_quota", landing).row_count == 3


def test_load_into_another_schema(landing, con):
    write_object(landing, "user")
    result = load_landing_object(con, "user", landing, raw_schema="salesforce raw")
    assert result.table == "salesforce raw.user"
    assert con.execute('select count(*) from "salesforce raw"."user"').fetchone()[0] == 2


# --------------------------------------------------------------------------- ids (issue 12)

CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_18(id15: str) -> str:
    """Salesforce's 18-character id, computed here independently of revops.crm_ids."""
    suffix = ""
    for block in range(3):
        chunk = id15[5 * block : 5 * block + 5]
        suffix += CHECKSUM[sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")]
    return id15 + suffix


def test_the_reference_checksum_matches_known_salesforce_ids():
    # pairs as Salesforce shows them (an Account and a User id of a developer org)
    assert salesforce_18("0015000000Gv7qJ") == "0015000000Gv7qJAAR"
    assert salesforce_18("00530000003xqAb") == "00530000003xqAbAAI"


@pytest.mark.parametrize("id15", ["0015000000Gv7qJ", "006Dn00000AbCdE", "00Q3h00000zZyXw", "006000000000123"])
def test_ids_are_trimmed_and_15_character_ids_become_their_18_character_form(landing, con, id15):
    id18 = salesforce_18(id15)
    opportunities = [
        opportunity_row(id=f" {id18} "),  # padded
        opportunity_row(id=id18.lower() if id18 != id18.lower() else id18[:15] + id18[15:].lower()),
        opportunity_row(id=id15),
    ]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, opportunities)
    load_landing_object(con, "opportunity", landing)
    assert con.execute("select id from raw.opportunity order by _source_row").fetchall() == [(id18,)] * 3


def test_uniqueness_is_checked_on_the_normalized_id(landing, con):
    id18 = salesforce_18("006Dn00000AbCdE")
    rows = [opportunity_row(id=id18), opportunity_row(id=id18 + " "), opportunity_row(id=id18.upper())]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    load_landing_object(con, "opportunity", landing)
    assert con.execute("select count(distinct id), count(*) from raw.opportunity").fetchone() == (1, 3)


def test_tasks_with_15_character_ids_link_to_their_18_character_deals(landing, con):
    ids15 = ["006Dn00000AbCdE", "006Dn00000XyZwQ", "0065g00000kLmNo"]
    write_csv(
        landing / "opportunity.csv", OPPORTUNITY_HEADER, [opportunity_row(id=salesforce_18(i)) for i in ids15]
    )
    task_columns = CRM_OBJECTS["task"].required_columns
    tasks = []
    for n, id15 in enumerate(ids15):
        row = dict(zip(task_columns, sample_rows("task", 1)[0], strict=False))
        row.update(id=f"00T{n:012d}", what_id=id15, owner_id=" 005000000000001 ")
        tasks.append([row[c] for c in task_columns])
    write_csv(landing / "task.csv", task_columns, tasks)
    load_landing_folder(con, landing, objects=["opportunity", "task"])
    linked = con.execute(
        "select count(*) from raw.task t join raw.opportunity o on o.id = t.what_id"
    ).fetchone()[0]
    assert linked == 3
    assert con.execute("select distinct owner_id from raw.task").fetchall() == [
        (salesforce_18("005000000000001"),)
    ]


def test_values_that_are_not_salesforce_ids_are_only_trimmed(landing, con):
    rows = [opportunity_row(id=v) for v in ["opp-1", " 12345 ", "006000000000000009", "a b c"]]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    load_landing_object(con, "opportunity", landing)
    assert [r[0] for r in con.execute("select id from raw.opportunity order by _source_row").fetchall()] == [
        "opp-1",
        "12345",
        "006000000000000009",
        "a b c",
    ]


def test_an_18_character_value_whose_suffix_marks_digits_as_uppercase_is_left_as_it_is(landing, con):
    # a generator's or another system's id that only looks like Salesforce's: recasing it
    # from its "suffix" would turn 00T into 00t and break every reference to it
    values = ["00T000000000000123", "00U000000000000405"]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, [opportunity_row(id=v) for v in values])
    load_landing_object(con, "opportunity", landing)
    assert [
        r[0] for r in con.execute("select id from raw.opportunity order by _source_row").fetchall()
    ] == values


# --------------------------------------------------------------------------- dates (issue 12)


@pytest.mark.parametrize(
    "value", ["26-12-05", "1-2-3", "2026-08-01 (BC)", "infinity", "-infinity", "2026-8-1"]
)
def test_dates_must_be_iso_8601(landing, con, value):
    rows = [opportunity_row(id="o1"), opportunity_row(id="o2", close_date=value)]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "opportunity", landing)
    message = str(info.value)
    assert str(landing / "opportunity.csv") in message
    assert "column close_date should be a date written YYYY-MM-DD" in message
    assert f"line 3: {value!r}" in message


@pytest.mark.parametrize("value", ["26-12-05 10:00:00", "infinity", "2026-08-01 (BC)", "1-2-3T10:00"])
def test_timestamps_must_be_iso_8601(landing, con, value):
    rows = [opportunity_row(id="o1", created_date=value)]
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    with pytest.raises(
        LandingFileError, match=r"column created_date should be an ISO 8601 timestamp.*line 2"
    ):
        load_landing_object(con, "opportunity", landing)


# --------------------------------------------------------------------------- lines and unreadable files


def test_lines_are_physical_lines_after_a_quoted_line_break(landing, con):
    rows = [
        opportunity_row(id="o1", next_step='"call Bob\nthen send the contract"'),
        opportunity_row(id="o2"),
        opportunity_row(id="o3", amount="n/a"),
    ]
    path = write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    lines = path.read_text().splitlines()
    assert lines[4].startswith("o3,")  # line 5 in an editor: the quoted value spans lines 2-3
    with pytest.raises(LandingFileError, match="line 5: 'n/a'"):
        load_landing_object(con, "opportunity", landing)

    rows[2] = opportunity_row(id="o3")
    write_csv(landing / "opportunity.csv", OPPORTUNITY_HEADER, rows)
    load_landing_object(con, "opportunity", landing)
    assert con.execute("select id, _source_row from raw.opportunity order by id").fetchall() == [
        ("o1", 2),
        ("o2", 4),
        ("o3", 5),
    ]
    assert con.execute("select next_step from raw.opportunity where id = 'o1'").fetchone()[0] == (
        "call Bob\nthen send the contract"
    )


def test_a_reading_error_after_a_quoted_line_break_names_the_physical_line(landing, con):
    text = 'id,quota_owner_id,start_date,quota_amount\nq1,"005A\nx",2024-01-01,1000\nq2,005A,2024-01-01,5,extra\n'
    (landing / "forecasting_quota.csv").write_text(text)
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "forecasting_quota", landing)
    assert "line 4" in str(info.value) and "5 values where the header has 4 columns" in str(info.value)
    assert info.value.line == 4


def test_a_file_with_cr_only_line_ends_is_named_in_a_clear_message(landing, con):
    text = "id,quota_owner_id,start_date,quota_amount\rq1,005A,2024-01-01,1000\r"
    (landing / "forecasting_quota.csv").write_bytes(text.encode())
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "forecasting_quota", landing)
    message = str(info.value)
    assert str(landing / "forecasting_quota.csv") in message
    assert "carriage return alone" in message and "LF or CRLF" in message
    assert "_csv.Error" not in message and "new-line character" not in message


def test_a_header_that_is_not_a_csv_row_is_named_in_a_clear_message(landing, con):
    (landing / "forecasting_quota.csv").write_text('id,"quota_owner_id\n')
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "forecasting_quota", landing)
    assert str(landing / "forecasting_quota.csv") in str(info.value)
    assert "line 1" in str(info.value)


def test_header_text_that_is_not_a_contract_column_is_never_quoted(landing, con):
    secret = "root:x:0:0:root:/root:/bin/bash <!channel> https://evil.example"
    write_csv(landing / "user.csv", ["id", secret.replace(",", " ")], [["u1", "x"]])
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "user", landing)
    message = str(info.value).replace(str(landing), "<landing>")
    assert "missing the required column name (the minimum user needs" in message
    assert "Columns found: id and 1 other column (not shown)" in message
    for fragment in ("root", "bin_bash", "channel", "evil"):
        assert fragment not in message


# --------------------------------------------------------------------------- files must be regular files inside the folder


def test_a_symlink_out_of_the_landing_folder_is_refused(landing, con, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("id,name\nroot,x\n")
    (landing / "user.csv").symlink_to(outside)
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "user", landing)
    message = str(info.value)
    assert "symbolic link to a file outside the landing folder" in message
    assert "root" not in message.replace(str(tmp_path), "")
    with pytest.raises(LandingFileError, match="outside the landing folder"):
        find_landing_file(landing, "user")


def test_a_symlink_to_etc_passwd_is_refused(landing, con):
    (landing / "user.csv").symlink_to("/etc/passwd")
    with pytest.raises(LandingFileError, match="outside the landing folder"):
        load_landing_object(con, "user", landing)


def test_a_symlink_to_a_file_inside_the_folder_loads(landing, con):
    (landing / "exports").mkdir()
    target = write_object(landing / "exports", "user")
    (landing / "user.csv").symlink_to(target)
    assert load_landing_object(con, "user", landing).row_count == 2


def test_a_fifo_or_a_folder_is_not_a_landing_file(landing, con):
    import os

    os.mkfifo(landing / "user.csv")
    with pytest.raises(LandingFileError, match="not a regular file"):
        load_landing_object(con, "user", landing)
    (landing / "account.csv").mkdir()
    with pytest.raises(LandingFileError, match="is a folder"):
        load_landing_object(con, "account", landing)


def test_a_dangling_symlink_is_named(landing, con):
    (landing / "user.csv").symlink_to(landing / "gone.csv")
    with pytest.raises(LandingFileError, match=r"user\.csv into user: it cannot be opened"):
        load_landing_object(con, "user", landing)


def test_mixed_line_ends_are_named(landing, con):
    text = "id,quota_owner_id,start_date,quota_amount\nq1,005A,2024-01-01,1000\r\nq2,005A,2024-02-01,5\n"
    (landing / "forecasting_quota.csv").write_bytes(text.encode())
    with pytest.raises(LandingFileError) as info:
        load_landing_object(con, "forecasting_quota", landing)
    assert str(landing / "forecasting_quota.csv") in str(info.value)
    assert "line ends are mixed" in str(info.value) and "state machine" not in str(info.value)
