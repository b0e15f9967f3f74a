"""Not tracked means unknown (DESIGN.md "Real CRMs"): each optional part of the contract
removed, one at a time, from the raw tables of the demo, with the `raw._source_coverage`
rows the ingestion writes saying so (revops/crm_contract.py's columns; coverage.md is the
format). Each variant is a real `dbt build` on a real DuckDB file. It must pass, the
numbers that need the missing part must be NULL with a reason, and everything else must
equal the full build's, row for row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import pytest
from conftest import BuiltWarehouse, run_dbt


@dataclass(frozen=True)
class Removal:
    """How a variant differs from the demo: SQL run on raw, and what coverage says."""

    statements: tuple[str, ...]
    untracked: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (object, column)
    absent_objects: frozenset[str] = field(default_factory=frozenset)  # whole object not tracked
    dbt_excludes: tuple[str, ...] = ()  # tests of files this work does not own, see below


ICP_COLUMNS = {
    ("account", "industry"),
    ("account", "number_of_employees"),
    ("opportunity", "trigger_event_c"),
    ("opportunity", "technical_fit_c"),
}

REMOVALS: dict[str, Removal] = {
    "everything_recorded": Removal(statements=()),
    "no_activity": Removal(
        statements=("delete from raw.task", "delete from raw.event"),
        absent_objects=frozenset({"task", "event"}),
    ),
    "no_next_step_date": Removal(
        statements=("update raw.opportunity set next_step_date_c = null",),
        untracked=frozenset({("opportunity", "next_step_date_c")}),
    ),
    "no_quota": Removal(
        statements=("delete from raw.forecasting_quota",),
        absent_objects=frozenset({"forecasting_quota"}),
    ),
    "no_history": Removal(
        statements=("delete from raw.opportunity_history",),
        absent_objects=frozenset({"opportunity_history"}),
    ),
    "no_leads": Removal(statements=("delete from raw.lead",), absent_objects=frozenset({"lead"})),
    "no_icp_fields": Removal(
        statements=(
            "update raw.account set industry = null, number_of_employees = null",
            "update raw.opportunity set trigger_event_c = null, technical_fit_c = null",
        ),
        untracked=frozenset(ICP_COLUMNS),
    ),
    # legal in Salesforce: a deal without an account (every third one here); still tracked
    "null_account_ids": Removal(
        statements=("update raw.opportunity set account_id = null where hash(id) % 3 = 0",),
    ),
}


def _write_coverage(con: duckdb.DuckDBPyConnection, removal: Removal) -> None:
    from revops.crm_contract import CRM_OBJECTS

    rows = []
    for obj in CRM_OBJECTS.values():
        row_count = con.execute(f'select count(*) from raw."{obj.name}"').fetchone()[0]
        for column in obj.columns:
            tracked = obj.name not in removal.absent_objects and (obj.name, column) not in removal.untracked
            rows.append(
                (
                    obj.name,
                    column,
                    tracked,
                    row_count,
                    f"{obj.name}.csv: {column}" if tracked else None,
                    "salesforce_files",
                )
            )
    con.execute(
        "create or replace table raw._source_coverage (object_name varchar, column_name varchar,"
        " is_tracked boolean, row_count bigint, mapped_from varchar, source varchar)"
    )
    con.executemany("insert into raw._source_coverage values (?, ?, ?, ?, ?, ?)", rows)


@pytest.fixture(scope="module")
def variant(demo_landing_dir, tmp_path_factory):
    """variant(name): the demo with REMOVALS[name] applied to raw and built (cached).

    Every variant is built at one path with one target folder, then moved to its own folder:
    dbt parses the whole project again (15 s) whenever the warehouse path of its connection
    changes, and at one path it parses the project once for all the variants."""
    from conftest import DEMO_AS_OF_DATE

    from revops.crm_contract import CRM_OBJECTS
    from revops.landing import load_landing_object

    built: dict[str, BuiltWarehouse] = {}
    build_dir = tmp_path_factory.mktemp("variant_build")
    building, target_path = build_dir / "build.duckdb", build_dir / "target"

    def build(name: str) -> BuiltWarehouse:
        if name in built:
            return built[name]
        removal = REMOVALS[name]
        work = tmp_path_factory.mktemp(f"variant_{name}")
        with duckdb.connect(str(building)) as con:
            for obj in CRM_OBJECTS.values():
                load_landing_object(con, obj, demo_landing_dir)
            for statement in removal.statements:
                con.execute(statement)
            _write_coverage(con, removal)
        # the unit tests do not read the data (the demo_warehouse build runs them once)
        run_dbt(
            [
                "build",
                "--exclude-resource-type",
                "unit_test",
                *(["--exclude", *removal.dbt_excludes] if removal.dbt_excludes else []),
            ],
            warehouse_path=building,
            target_path=target_path,
            dbt_vars={"as_of_date": DEMO_AS_OF_DATE.isoformat()},
        )
        for file in (building, building.with_name(building.name + ".wal")):
            if file.exists():
                file.rename(work / file.name)
        warehouse = BuiltWarehouse(demo_landing_dir, work / building.name, target_path, DEMO_AS_OF_DATE)
        built[name] = warehouse
        return warehouse

    return build


def _differences(
    full: BuiltWarehouse, other: BuiltWarehouse, table: str, columns: list[str], where: str = "true"
):
    """Rows of `table` (on `columns`, filtered by `where`) in one build and not the other.
    Doubles are compared within 1e-9 (relative): DuckDB's parallel sums add in any order, so
    two builds of the same data differ in the last bits (146491.87639441327 vs ...33).
    Rounded to 6 decimals first (cheap, in SQL), then the rows left on both sides are
    paired on their other columns and their doubles compared with the tolerance: a value
    on a rounding boundary (…0000005) rounds apart without differing."""
    schema, name = table.split(".")
    doubles = {
        row[0]
        for row in full.query(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
            " and data_type in ('DOUBLE', 'FLOAT', 'REAL')",
            [schema, name],
        )
    }
    # quoted: a column may be a reserved word (pipeline_waterfall's "window")
    cols = ", ".join(f'round("{c}", 6) as "{c}"' if c in doubles else f'"{c}"' for c in columns)
    with duckdb.connect() as con:
        con.execute(f"attach '{full.warehouse_path}' as full_build (read_only)")
        con.execute(f"attach '{other.warehouse_path}' as variant_build (read_only)")
        full_rows = f"select {cols} from full_build.{table} where {where}"
        variant_rows = f"select {cols} from variant_build.{table} where {where}"
        only_full = con.execute(f"{full_rows} except all {variant_rows} limit 1000").fetchall()
        only_variant = con.execute(f"{variant_rows} except all {full_rows} limit 1000").fetchall()
    if only_full and only_variant:
        # the raw values again: rounding may have split two values that agree within tolerance
        raw = ", ".join(f'"{c}"' for c in columns)
        with duckdb.connect() as con:
            con.execute(f"attach '{full.warehouse_path}' as full_build (read_only)")
            con.execute(f"attach '{other.warehouse_path}' as variant_build (read_only)")
            full_raw = con.execute(f"select {raw} from full_build.{table} where {where}").fetchall()
            variant_raw = con.execute(f"select {raw} from variant_build.{table} where {where}").fetchall()
        only_full, only_variant = _apart(full_raw, variant_raw, [c in doubles for c in columns])
    return only_full[:5], only_variant[:5]


def _apart(left: list[tuple], right: list[tuple], is_double: list[bool]) -> tuple[list, list]:
    """The rows of each side with no row on the other that has the same non-double values
    and doubles within 1e-9 (relative)."""

    def key(row: tuple) -> tuple:
        return tuple(repr(v) for v, d in zip(row, is_double, strict=True) if not d)

    def close(a: tuple, b: tuple) -> bool:
        return all(
            (x is None and y is None)
            or (x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12))
            for x, y, d in zip(a, b, is_double, strict=True)
            if d
        )

    pending: dict[tuple, list[tuple]] = {}
    for row in right:
        pending.setdefault(key(row), []).append(row)
    only_left = []
    for row in left:
        candidates = pending.get(key(row), [])
        match = next((i for i, other in enumerate(candidates) if close(row, other)), None)
        if match is None:
            only_left.append(row)
        else:
            candidates.pop(match)
    return only_left, [row for rows in pending.values() for row in rows]


def _columns(warehouse: BuiltWarehouse, table: str, leave_out: set[str] = frozenset()) -> list[str]:
    schema, name = table.split(".")
    rows = warehouse.query(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
        " order by ordinal_position",
        [schema, name],
    )
    return [row[0] for row in rows if row[0] not in leave_out]


def assert_unchanged(full, other, table, columns=None, where="true", leave_out=frozenset()):
    columns = columns or _columns(full, table, set(leave_out))
    only_full, only_variant = _differences(full, other, table, columns, where)
    assert (only_full, only_variant) == ([], []), (
        f"{table} ({', '.join(columns)}) differs from the full build: "
        f"full build only {only_full}, this build only {only_variant}"
    )


# --------------------------------------------------------------------------- everything tracked


def test_recorded_coverage_saying_everything_is_tracked_changes_no_mart(demo_warehouse, variant):
    recorded = variant("everything_recorded")
    marts = [
        row[0]
        for row in demo_warehouse.query(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        )
    ]
    assert "source_coverage" in marts
    for mart in marts:
        if mart != "source_coverage":
            assert_unchanged(demo_warehouse, recorded, f"marts.{mart}")
    assert recorded.scalar("select bool_and(is_recorded and is_tracked) from marts.source_coverage")
    assert (
        recorded.scalar(
            "select mapped_from from marts.source_coverage where object_name = 'opportunity'"
            " and column_name = 'next_step_date_c'"
        )
        == "opportunity.csv: next_step_date_c"
    )


def test_without_the_coverage_table_every_contract_column_is_tracked_with_staging_counts(demo_warehouse):
    from revops.crm_contract import CRM_OBJECTS

    rows = demo_warehouse.query(
        "select object_name, column_name, is_tracked, row_count, is_recorded from marts.source_coverage"
    )
    assert {(r[0], r[1]) for r in rows} == {(o.name, c) for o in CRM_OBJECTS.values() for c in o.columns}
    assert all(r[2] and not r[4] for r in rows)
    opportunities = demo_warehouse.scalar("select count(*) from staging.stg_salesforce__opportunities")
    assert {r[3] for r in rows if r[0] == "opportunity"} == {opportunities}


# --------------------------------------------------------------------------- no calls, emails, meetings


def test_no_activity_makes_activity_flags_unknown_and_rescales_the_score(demo_warehouse, variant):
    built = variant("no_activity")
    rows = built.query("""
        select count(*),
               count(is_inactive), count(activity_component), count(is_assumed_follow_up),
               count(business_days_since_last_interaction),
               sum(case when risk_known_weight = 75 then 1 else 0 end),
               sum(case when risk_reasons like 'Activity not tracked%' then 1 else 0 end),
               max(abs(risk_score - (stage_time_component + next_step_component + close_date_component) * 100 / 75))
        from marts.deal_risk
    """)[0]
    total = rows[0]
    assert total > 0 and rows[1:5] == (0, 0, 0, 0)
    # stage time, next step and close date known: 75 of the 100 points
    assert rows[5] == total and rows[6] == total and rows[7] < 1e-9, rows
    # three-valued: floating is never true; false only where a known input rules it out
    assert built.scalar("select count(*) from marts.deal_risk where is_floating") == 0
    assert (
        built.scalar(
            "select count(*) from marts.deal_risk where is_floating = false and days_in_stage >= 21 and not has_next_step"
        )
        == 0
    )
    assert built.scalar("select count(*) from marts.deal_risk where is_optimism_hold") == 0
    hygiene = built.query("select inactive_count, floating_count from marts.pipeline_hygiene")
    assert hygiene and all(row == (None, None) for row in hygiene)
    assert built.scalar("select count(inactive_count) from marts.pipeline_hygiene_weekly") == 0
    # what does not need activity is the full build's
    assert_unchanged(
        demo_warehouse,
        built,
        "marts.deal_risk",
        [
            "opportunity_id",
            "stage_name",
            "amount",
            "days_in_stage",
            "is_stalled",
            "has_next_step",
            "close_date_push_count",
            "stage_time_component",
            "next_step_component",
            "close_date_component",
        ],
    )
    for mart in [
        "forecast",
        "run_rate",
        "icp_fit",
        "stage_conversion_rates",
        "rep_scorecards",
        "daily_action_list",
    ]:
        leave_out = {"high_risk_deal_count"} if mart == "rep_scorecards" else set()
        assert_unchanged(demo_warehouse, built, f"marts.{mart}", leave_out=leave_out)
    assert_unchanged(
        demo_warehouse,
        built,
        "marts.pipeline_hygiene",
        leave_out={"inactive_count", "floating_count"},
    )
    assert built.query(
        "select is_tracked, row_count from marts.source_coverage where object_name = 'task' and column_name = 'what_id'"
    ) == [(False, 0)]


# --------------------------------------------------------------------------- no next-step date


def test_no_next_step_date_judges_next_steps_on_text_and_commits_on_forecast_category(
    demo_warehouse, variant
):
    built = variant("no_next_step_date")
    as_of = built.as_of_date.isoformat()
    wrong = built.scalar("""
        select count(*) from marts.deal_risk
        where has_next_step is distinct from (
            next_step is not null and trim(next_step) <> ''
            and lower(trim(next_step)) not in ('follow up', 'waiting on them', 'tbd', 'check in'))
    """)
    assert wrong == 0
    assert built.query("select distinct committed_basis from marts.forecast") == [("forecast_category",)]
    assert built.query("select distinct forecast_basis from marts.forecast_accuracy") == [
        ("forecast_category_history",)
    ]
    expected = built.scalar(f"""
        select coalesce(sum(amount), 0) from intermediate.int_deals_as_of
        where is_open and forecast_category = 'Commit' and close_date >= date '{as_of}'
          and close_date <= last_day(date '{as_of}')
    """)
    actual = built.scalar(
        "select committed_amount from marts.forecast where rollup_level = 'company'"
        " and period_type = 'month' and period_offset = 'current'"
    )
    assert expected > 0 and abs(actual - expected) < 0.01
    assert "Next-step date not tracked" in built.scalar("select min(risk_reasons) from marts.deal_risk")
    assert (
        built.scalar(
            "select count(*) from marts.daily_action_list where action_type in ('overdue_follow_up', 'late_stage_next_step')"
        )
        == 0
    )
    for column in ["target_amount", "closed_won_amount", "open_pipeline_amount", "weighted_pipeline_amount"]:
        assert_unchanged(
            demo_warehouse,
            built,
            "marts.forecast",
            ["period_type", "period_start", "rollup_level", "owner_id", "team", column],
        )
    assert_unchanged(
        demo_warehouse,
        built,
        "marts.deal_risk",
        ["opportunity_id", "activity_component", "stage_time_component", "is_inactive"],
    )
    for mart in ["icp_fit", "stage_conversion_rates", "fct_stage_history"]:
        assert_unchanged(demo_warehouse, built, f"marts.{mart}")


# --------------------------------------------------------------------------- no quotas


def test_no_quota_gives_no_target_everywhere(demo_warehouse, variant):
    built = variant("no_quota")
    assert built.query("""
        select count(target_amount), count(coverage_ratio), count(gap_to_target_amount),
               count(remaining_coverage_ratio), min(target_status), max(target_status)
        from marts.forecast
    """) == [(0, 0, 0, 0, "no_target", "no_target")]
    assert built.query("""
        select count(target_amount), count(pacing_rate), count(projected_attainment_rate), min(status), max(status)
        from marts.run_rate
    """) == [(0, 0, 0, "no_target", "no_target")]
    assert built.query(
        "select count(target_amount), count(attainment_rate), min(target_status), max(target_status)"
        " from marts.rep_scorecards"
    ) == [(0, 0, "no_target", "no_target")]
    assert built.query(
        "select value, status, unknown_reason from marts.revops_health where metric = 'pipeline_coverage'"
    ) == [(None, "unknown", "quotas not tracked in the CRM")]
    # an owner with a quota and no deal had a row of zeros; without quotas it has none
    has_deals = "not (closed_won_amount = 0 and open_deal_count = 0)"
    assert_unchanged(
        demo_warehouse,
        built,
        "marts.forecast",
        where=has_deals,
        leave_out={
            "target_amount",
            "coverage_ratio",
            "gap_to_target_amount",
            "remaining_coverage_ratio",
            "target_status",
        },
    )
    assert_unchanged(
        demo_warehouse,
        built,
        "marts.run_rate",
        where="not (closed_won_amount = 0 and committed_amount = 0 and best_case_weighted_amount = 0)",
        leave_out={
            "target_amount",
            "pacing_rate",
            "projected_attainment_rate",
            "status",
            "pace_status",
            "projected_status",
        },
    )
    for mart in ["deal_risk", "pipeline_hygiene", "icp_fit", "daily_action_list", "forecast_accuracy"]:
        assert_unchanged(demo_warehouse, built, f"marts.{mart}")
    assert_unchanged(demo_warehouse, built, "marts.revops_health", where="metric <> 'pipeline_coverage'")


# --------------------------------------------------------------------------- no opportunity history


def test_no_history_makes_pushes_variance_and_time_in_stage_unknown(demo_warehouse, variant):
    built = variant("no_history")
    assert built.scalar("select count(close_date_push_count) from marts.deal_risk") == 0
    assert (
        built.scalar(
            "select count(*) from marts.deal_risk where risk_reasons not like '%Opportunity history not tracked%'"
        )
        == 0
    )
    # close date component: known (25) only where the close date has passed
    assert (
        built.scalar(
            "select count(*) from marts.deal_risk where close_date_component is not null and not is_close_date_past"
        )
        == 0
    )
    health = {
        row[0]: row[1:]
        for row in built.query(
            "select metric, value, status, unknown_reason from marts.revops_health"
            " where rollup_level = 'company'"
        )
    }
    for metric in ["forecast_variance", "time_in_stage_vs_baseline"]:
        assert health[metric] == (None, "unknown", "opportunity history not tracked in the CRM")
    assert built.scalar("select count(*) from marts.deal_risk where is_optimism_hold") == 0
    assert built.query(
        "select count(forecast_amount), count(variance_rate), min(unknown_reason), count(*) > 0"
        " from marts.forecast_accuracy"
    ) == [(0, 0, "opportunity history not tracked in the CRM", True)]
    # the snapshots hold every deal in its current state: how the pipeline moved is unknown
    assert built.query(
        "select count(amount), count(deal_count), min(unknown_reason), max(unknown_reason),"
        " min(rollup_level), max(rollup_level), count(*) from marts.pipeline_waterfall"
    ) == [(0, 0, *["opportunity history not tracked in the CRM"] * 2, "company", "company", 44)]
    assert built.scalar("select count(*) from marts.pipeline_waterfall_deals") == 0
    for mart in ["icp_fit"]:
        assert_unchanged(demo_warehouse, built, f"marts.{mart}")
    assert_unchanged(
        demo_warehouse,
        built,
        "marts.run_rate",
        ["rollup_level", "owner_id", "team", "period", "target_amount"],
    )


# --------------------------------------------------------------------------- no leads


def test_no_leads_makes_lead_conversion_unknown_and_lists_no_lead(demo_warehouse, variant):
    built = variant("no_leads")
    statuses = built.query(
        "select distinct value, status, unknown_reason from marts.revops_health"
        " where metric = 'lead_to_opportunity_conversion_rate'"
    )
    assert statuses == [(None, "unknown", "leads not tracked in the CRM")]
    assert built.scalar("select count(*) from marts.daily_action_list where lead_id is not null") == 0
    assert_unchanged(
        demo_warehouse,
        built,
        "marts.daily_action_list",
        ["owner_id", "action_type", "opportunity_id", "revenue_at_stake_amount"],
        where="lead_id is null",
    )
    for mart in [
        "deal_risk",
        "forecast",
        "run_rate",
        "icp_fit",
        "stage_conversion_rates",
        "pipeline_hygiene",
    ]:
        assert_unchanged(demo_warehouse, built, f"marts.{mart}")


# --------------------------------------------------------------------------- no ICP fields


def test_no_icp_fields_makes_icp_unknown_and_adjusts_nothing(demo_warehouse, variant):
    built = variant("no_icp_fields")
    assert built.query("""
        select count(is_industry_fit), count(is_company_size_fit), count(is_trigger_event_fit),
               count(is_technical_fit), count(is_icp), min(criteria_tracked_count)
        from marts.icp_fit
    """) == [(0, 0, 0, 0, 0, 0)]
    assert built.query("select distinct icp_adjustment_factor from intermediate.int_deal_probabilities") == [
        (1.0,)
    ]
    assert (
        built.scalar("select count(*) from marts.stage_conversion_rates where segment in ('icp', 'non_icp')")
        == 0
    )
    assert built.scalar("select count(*) from marts.icp_segments where segment_type = 'icp'") == 0
    assert built.query(
        "select value, status, unknown_reason from marts.revops_health where metric = 'icp_share_of_pipeline'"
    ) == [(None, "unknown", "no ICP criterion tracked in the CRM")]
    assert built.query(
        "select count(icp_closed_count), count(icp_win_rate), count(non_icp_closed_count), count(icp_pipeline_share_rate)"
        " from marts.rep_scorecards"
    ) == [(0, 0, 0, 0)]
    # the weighted pipeline is the calibrated probabilities without ICP adjustment
    assert (
        built.scalar(
            "select max(abs(adjusted_probability - least(calibrated_probability, 1))) from intermediate.int_deal_probabilities"
        )
        < 1e-12
    )
    for mart in ["deal_risk", "pipeline_hygiene", "run_rate"]:
        assert_unchanged(demo_warehouse, built, f"marts.{mart}")
    assert_unchanged(demo_warehouse, built, "marts.stage_conversion_rates", where="segment_type <> 'icp'")
    assert_unchanged(demo_warehouse, built, "marts.forecast", leave_out={"weighted_pipeline_amount"})


# --------------------------------------------------------------------------- null account ids


def test_null_account_ids_build_and_change_only_what_needs_the_account(demo_warehouse, variant):
    built = variant("null_account_ids")
    nulls = built.scalar("select count(*) from marts.dim_deals where account_id is null")
    assert nulls > 100
    assert (
        built.scalar(
            "select count(*) from marts.icp_fit where account_id is null and (is_industry_fit or is_company_size_fit)"
        )
        == 0
    )
    for mart in ["deal_risk", "pipeline_hygiene", "run_rate", "fct_stage_history"]:
        assert_unchanged(demo_warehouse, built, f"marts.{mart}", leave_out={"account_id"})
    assert_unchanged(demo_warehouse, built, "marts.forecast", leave_out={"weighted_pipeline_amount"})
