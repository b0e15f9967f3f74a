"""The raw expectation suites as data, the two engines that run them, and the rule for marts
(gated by their dbt tests, not by suites).

No pipeline runs here: small DuckDB tables built in the test.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

from revops.crm_contract import CRM_OBJECTS
from revops.paths import EXPECTATIONS_DIR
from revops.quality import (
    GX_TYPES,
    SQL_TYPES,
    GateSettings,
    SuiteError,
    gate_parameters,
    load_suite,
    load_suites,
    run_gate,
)

AS_OF = dt.date(2026, 11, 23)


def test_every_suite_file_loads_and_names_its_checks():
    for table, suite in load_suites("raw").items():
        assert suite.name == f"raw.{table}"
        assert suite.checks(), f"{suite.path} has no checks"
        for exp in suite.expectations:
            assert exp.type in GX_TYPES | SQL_TYPES


def test_raw_suites_cover_the_input_contract():
    """Required columns and types that parse for every column of crm_contract, unique
    non-null ids and the row-count check on every object."""
    suites = load_suites("raw")
    assert set(suites) == set(CRM_OBJECTS)
    for name, obj in CRM_OBJECTS.items():
        exps = suites[name].expectations
        required = {e.column for e in exps if e.type == "expect_column_to_exist"}
        assert required == set(obj.columns), name
        typed = {
            e.column: e.kwargs["type_"] for e in exps if e.type == "expect_column_values_to_parse_as_type"
        }
        assert typed == {c: t for c, t in obj.columns.items() if c != "id"}, name
        checks = {c.name: c.severity for c in suites[name].checks()}
        key = "id" if "id" in obj.columns else "key"  # marketing_spend: (month, channel)
        for check in (
            "required_columns",
            "types_parse",
            f"{key}_not_null",
            f"{key}_unique",
            "row_count_not_collapsing",
        ):
            assert checks.get(check) == "blocking", (name, check)


def test_every_mart_has_its_grain_test_and_an_enforced_contract(tmp_path):
    """The mart gate is the marts' dbt tests: adding a mart = its contract and a grain test
    (unique, or revops_unique_combination) in its YAML; no suite file under expectations/."""
    from orchestration.dbt_assets import mart_asset_keys
    from orchestration.dbt_project import revops_dbt_project

    manifest = json.loads(revops_dbt_project.manifest_path.read_text(encoding="utf-8"))
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith("../models/marts/")
    }
    grains = {
        manifest["nodes"][node["attached_node"]]["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node.get("attached_node") in {m["unique_id"] for m in models.values()}
        and (node.get("test_metadata") or {}).get("name") in ("unique", "revops_unique_combination")
        and (node.get("config") or {}).get("severity", "ERROR").upper() == "ERROR"
    }
    assert set(mart_asset_keys()) == set(models)
    assert not sorted(set(models) - grains), "marts without a grain test"
    # enforced everywhere but Spark (no unsized varchar there): the YAML's expression, rendered
    uncontracted = [n for n, m in models.items() if not (m.get("contract") or {}).get("enforced")]
    assert not uncontracted, f"marts without an enforced contract: {uncontracted}"
    undescribed = [
        f"{n}.{c}" for n, m in models.items() for c, col in m["columns"].items() if not col.get("description")
    ]
    assert not undescribed, undescribed
    assert not list((EXPECTATIONS_DIR / "marts").glob("*.json")), "mart suites are dbt tests now"
    suite = tmp_path / "x.json"
    suite.write_text(json.dumps({"name": "marts.x", "meta": {"layer": "marts", "table": "x"}}))
    with pytest.raises(SuiteError, match=r"meta\.layer must be one of"):
        load_suite(suite)


def test_a_broken_suite_file_is_refused(tmp_path):
    bad = {
        "name": "raw.x",
        "meta": {"layer": "raw", "table": "x"},
        "expectations": [{"type": "expect_the_moon", "kwargs": {}, "meta": {"check": "moon"}}],
    }
    path = tmp_path / "x.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(SuiteError, match="unknown expectation type"):
        load_suite(path)
    bad["expectations"] = [
        {
            "type": "expect_column_values_to_be_unique",
            "kwargs": {"column": "id"},
            "meta": {"check": "a", "severity": "fatal"},
        }
    ]
    path.write_text(json.dumps(bad))
    with pytest.raises(SuiteError, match="severity"):
        load_suite(path)


def _suite(tmp_path, expectations, table="t", layer="raw"):
    folder = tmp_path / layer
    folder.mkdir(exist_ok=True)
    (folder / f"{table}.json").write_text(
        json.dumps(
            {
                "name": f"{layer}.{table}",
                "meta": {"layer": layer, "table": table},
                "expectations": expectations,
            }
        )
    )
    return load_suites(layer, tmp_path)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(
        """
        create table raw.t as select * from (values
            ('a', 'Closed Won', 10.0, date '2026-01-01', 't.csv', 2),
            ('b', 'Nope', -1.0, date '1970-01-01', 't.csv', 3),
            ('b', 'Nope', -1.0, date '2199-01-01', 't.csv', 4),
            (null, null, null, null, 't.csv', 5),
            ('e', 'Closed Lost', 5.0, date '2026-11-20', 't.csv', 6)
        ) v(id, stage_name, amount, close_date, _source_file, _source_row)
        """
    )
    yield con
    con.close()


VALUE_EXPECTATIONS = [
    ("expect_column_values_to_not_be_null", {"column": "stage_name"}),
    (
        "expect_column_values_to_be_in_set",
        {"column": "stage_name", "value_set": {"$PARAMETER": "known_stage_names"}},
    ),
    ("expect_column_values_to_be_between", {"column": "amount", "min_value": 0}),
    (
        "expect_column_values_to_be_between",
        {
            "column": "close_date",
            "min_value": {"$PARAMETER": "earliest_plausible_date"},
            "max_value": {"$PARAMETER": "latest_close_date"},
        },
    ),
    ("expect_column_values_to_match_regex", {"column": "id", "regex": "^[a-d]$"}),
]


@pytest.mark.parametrize(
    "type_,kwargs", VALUE_EXPECTATIONS, ids=[f"{t}:{k['column']}" for t, k in VALUE_EXPECTATIONS]
)
def test_value_frequencies_give_what_gx_gives_row_by_row(con, tmp_path, type_, kwargs):
    """The gx engine validates distinct values with their row counts; the outcome and the
    failing rows must equal GX's own row-by-row validation of the whole table."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from revops.quality.gx_engine import gx_kwargs
    from revops.quality.suites import resolve_parameters

    params = gate_parameters(AS_OF, GateSettings())
    suites = _suite(tmp_path, [{"type": type_, "kwargs": kwargs, "meta": {"check": "c"}}])
    outcome = run_gate(con, "raw", schema="raw", parameters=params, suites=suites).outcomes[0]

    frame = con.execute("select * from raw.t").df()
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("p")
        .add_dataframe_asset("t")
        .add_batch_definition_whole_dataframe("w")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name="row_by_row")
    resolved = gx_kwargs(resolve_parameters(kwargs, params), temporal=kwargs["column"] == "close_date")
    suite.add_expectation(ExpectationConfiguration(type=type_, kwargs=resolved).to_domain_obj())
    expected = batch.validate(suite, result_format="COMPLETE").results[0]

    assert outcome.passed == expected.success
    assert (outcome.failing_rows or 0) == expected.result["unexpected_count"]


def test_failures_name_table_check_rows_and_sources(con, tmp_path):
    suites = _suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_unique",
                "kwargs": {"column": "id"},
                "meta": {"check": "id_unique"},
            },
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "id"},
                "meta": {"check": "id_not_null", "engine": "duckdb"},
            },
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "amount", "min_value": 0},
                "meta": {
                    "check": "amount_not_negative",
                    "severity": "warning",
                    "description": "amount is negative",
                },
            },
        ],
    )
    report = run_gate(con, "raw", schema="raw", parameters=gate_parameters(AS_OF), suites=suites)
    by_check = {o.check: o for o in report.outcomes}
    assert by_check["id_unique"].message == (
        "raw.t: check id_unique failed (blocking) - 2 failing rows: id is not unique: 1 value appears "
        "more than once. Examples: 'b' (t.csv line 3), 'b' (t.csv line 4)"
    )
    assert by_check["id_not_null"].message.endswith(
        "1 failing row: id is null. Examples: null (t.csv line 5)"
    )
    assert by_check["amount_not_negative"].severity == "warning"
    assert "Examples: -1.0 (t.csv line 3), -1.0 (t.csv line 4)" in by_check["amount_not_negative"].message
    assert [o.check for o in report.blocking_failures] == ["id_unique", "id_not_null"]
    assert [o.check for o in report.warnings] == ["amount_not_negative"]


def test_foreign_keys_and_values_with_quotes_are_reported_safely(con, tmp_path):
    con.execute("create table raw.parent as select 'a' as id")
    con.execute("insert into raw.t values ('x', 'Closed Won', 1, date '2026-01-01', 't.csv', 7)")
    con.execute("update raw.t set id = 'x''); DROP TABLE raw.t;--' where _source_row = 7")
    suites = _suite(
        tmp_path,
        [
            {
                "type": "expect_foreign_key_to_resolve",
                "kwargs": {"column": "id", "to_table": "parent", "to_column": "id"},
                "meta": {"check": "parent_exists"},
            },
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "id", "value_set": ["a"]},
                "meta": {"check": "known"},
            },
        ],
    )
    report = run_gate(con, "raw", schema="raw", parameters=gate_parameters(AS_OF), suites=suites)
    fk, known = report.outcomes
    assert fk.failing_rows == 4  # b, b, e and the quoted one; nulls are not foreign keys
    assert '"x\'); DROP TABLE raw.t;--" (t.csv line 7)' in fk.message
    assert '"x\'); DROP TABLE raw.t;--" (t.csv line 7)' in known.message
    assert con.execute("select count(*) from raw.t").fetchone()[0] == 6


def test_row_count_against_the_last_good_load(con, tmp_path):
    suites = _suite(
        tmp_path,
        [
            {
                "type": "expect_table_row_count_to_not_drop",
                "kwargs": {"max_drop_rate": {"$PARAMETER": "max_row_drop_rate"}},
                "meta": {"check": "row_count_not_collapsing"},
            }
        ],
    )
    params = gate_parameters(AS_OF, GateSettings(max_row_drop_rate=0.5))
    ok = run_gate(con, "raw", schema="raw", parameters=params, suites=suites, baseline_row_counts={"t": 9})
    assert ok.passed  # 5 of 9: a 44% drop
    bad = run_gate(con, "raw", schema="raw", parameters=params, suites=suites, baseline_row_counts={"t": 10})
    assert not bad.passed  # 5 of 10: half gone
    assert "raw.t has 5 rows, 50% fewer than the 10 of the last good load" in bad.outcomes[0].message
    first = run_gate(con, "raw", schema="raw", parameters=params, suites=suites, baseline_row_counts={})
    assert first.passed  # nothing to compare with yet


def test_a_missing_column_fails_its_checks_instead_of_crashing(con, tmp_path):
    suites = _suite(
        tmp_path,
        [
            {
                "type": "expect_column_to_exist",
                "kwargs": {"column": "owner_id"},
                "meta": {"check": "required_columns"},
            },
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "owner_id", "min_value": 0},
                "meta": {"check": "owner_range"},
            },
        ],
    )
    report = run_gate(con, "raw", schema="raw", parameters=gate_parameters(AS_OF), suites=suites)
    assert [o.passed for o in report.outcomes] == [False, False]
    assert "owner_id" in report.outcomes[0].message and "missing" in report.outcomes[1].message


def test_future_means_after_the_later_of_as_of_date_and_today():
    past_build = gate_parameters(dt.date(2025, 6, 30), today=dt.date(2026, 11, 23))
    assert past_build["latest_created_date"] == dt.date(2026, 11, 23)
    assert past_build["latest_close_date"] == dt.date(2030, 6, 30)
    assert past_build["freshness_min_date"] == dt.date(2025, 6, 27)
