"""probability_calibration on a hand-made history whose answer is known (issue 14), and
int_stage_conversions_daily's incremental runs against a full refresh.

The history: the demo's reps, accounts and activity, with raw.opportunity and
raw.opportunity_history replaced by 20 deals in Evaluating Options (stage map default
0.30). Ten "learning" deals are created on 2026-10-02 and close in October, 2 won and 8
lost: they are open on no month start, and as of 2026-10-31 the stage's calibrated
probability is (2 + 10 x 0.3) / (10 + 10) = 0.25. Ten "measured" deals are created on
2026-10-15 with the CRM probability 20 (%), open on 2026-11-01, and close in November,
exactly one in five won. So on the month start 2026-11-01:

- crm: every deal at 0.2, bin 0.2-0.3, observed 2 / 10 = 0.2, Brier
  (2 x 0.8² + 8 x 0.2²) / 10 = 0.16;
- calibrated: every deal at 0.25, same bin, Brier (2 x 0.75² + 8 x 0.25²) / 10 = 0.1625;
- the reference: the win rate of the deals closed in [2026-08-03, 2026-10-31] is 0.2,
  Brier 0.16, so the CRM's skill is 0 and ours 1 - 0.1625 / 0.16 = -0.015625.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from conftest import run_dbt

AS_OF = dt.date(2026, 11, 23)
MEASURED_MONTH_START = dt.date(2026, 11, 1)
STAGE = "Evaluating Options"
DAILY_COLUMNS = (
    "as_of_day, stage_name, segment, deal_count, won_count, lost_count, raw_rate, "
    "calibrated_probability, closed_on_day_deal_count, closed_on_day_won_count"
)


def _deal_rows(owner_id: str, account_id: str) -> tuple[list[tuple], list[tuple]]:
    """(opportunity rows, opportunity_history rows) of the 20 hand-made deals."""
    opportunities, history = [], []
    deals = [
        # (id, created, close_date, won, crm probability while open)
        *(
            (f"006LEARN{i:010d}", dt.date(2026, 10, 2), dt.date(2026, 10, 10 + i), i < 2, 30.0)
            for i in range(10)
        ),
        *(
            (f"006MEASR{i:010d}", dt.date(2026, 10, 15), dt.date(2026, 11, 5 + i), i < 2, 20.0)
            for i in range(10)
        ),
    ]
    for number, (deal_id, created, close_date, won, probability) in enumerate(deals):
        closed_stage = "Closed Won" if won else "Closed Lost"
        created_at = dt.datetime.combine(created, dt.time(9, 0))
        closed_at = dt.datetime.combine(close_date, dt.time(16, 0))
        opportunities.append(
            (
                deal_id,
                account_id,
                owner_id,
                f"Hand-made {number}",
                closed_stage,
                10000.0,
                close_date,
                created_at,
                closed_at,
                True,
                won,
                "Closed" if won else "Omitted",
                100.0 if won else 0.0,
                "Inbound",
                "New Business",
                False,
            )
        )
        history.append(
            (
                f"008OPEN{number:011d}",
                deal_id,
                STAGE,
                10000.0,
                close_date,
                probability,
                "Pipeline",
                created_at,
            )
        )
        history.append(
            (
                f"008SHUT{number:011d}",
                deal_id,
                closed_stage,
                10000.0,
                close_date,
                100.0 if won else 0.0,
                "Closed" if won else "Omitted",
                closed_at,
            )
        )
    return opportunities, history


@pytest.fixture(scope="module")
def hand_made_warehouse(demo_landing_dir, tmp_path_factory):
    from revops.crm_contract import CRM_OBJECTS
    from revops.landing import load_landing_object

    work = tmp_path_factory.mktemp("calibration")
    warehouse_path = work / "hand_made.duckdb"
    with duckdb.connect(str(warehouse_path)) as con:
        for obj in CRM_OBJECTS.values():
            load_landing_object(con, obj, demo_landing_dir)
        owner_id = con.execute("select min(id) from raw.user").fetchone()[0]
        account_id = con.execute("select min(id) from raw.account").fetchone()[0]
        opportunities, history = _deal_rows(owner_id, account_id)
        con.execute("delete from raw.opportunity")
        con.execute("delete from raw.opportunity_history")
        con.executemany(
            "insert into raw.opportunity (id, account_id, owner_id, name, stage_name, amount, close_date, "
            "created_date, last_modified_date, is_closed, is_won, forecast_category_name, probability, "
            "lead_source, type, is_deleted) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            opportunities,
        )
        con.executemany(
            "insert into raw.opportunity_history (id, opportunity_id, stage_name, amount, close_date, "
            "probability, forecast_category, created_date, is_deleted) values (?, ?, ?, ?, ?, ?, ?, ?, false)",
            history,
        )
    target_path = work / "target"
    run_dbt(["seed"], warehouse_path=warehouse_path, target_path=target_path)
    run_dbt(
        ["run", "-s", "+probability_calibration"],
        warehouse_path=warehouse_path,
        target_path=target_path,
        dbt_vars={"as_of_date": AS_OF.isoformat()},
    )
    return warehouse_path, target_path


def _rows(warehouse_path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _calibration(warehouse_path) -> dict[tuple[str, str, str], dict]:
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        cursor = con.execute("select * from marts.probability_calibration")
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    return {(r["stage_name"], r["probability_source"], r["bin"]): r for r in rows}


def test_one_in_five_won_at_0_2_is_observed_0_2_with_the_brier_score_by_hand(hand_made_warehouse):
    warehouse_path, _ = hand_made_warehouse
    rows = _calibration(warehouse_path)
    for stage in (STAGE, "all"):
        crm = rows[(stage, "crm", "0.2-0.3")]
        assert crm["deal_count"] == 10 and crm["won_count"] == 2
        assert crm["mean_predicted"] == pytest.approx(0.2)
        assert crm["observed_rate"] == pytest.approx(0.2)
        assert crm["brier_score"] == pytest.approx((2 * 0.8**2 + 8 * 0.2**2) / 10)  # 0.16
        assert crm["reference_brier_score"] == pytest.approx(0.16)
        assert crm["brier_skill_score"] == pytest.approx(0.0, abs=1e-12)
        assert rows[(stage, "crm", "all")]["brier_score"] == pytest.approx(0.16)

        ours = rows[(stage, "calibrated", "0.2-0.3")]
        assert ours["deal_count"] == 10
        assert ours["mean_predicted"] == pytest.approx((2 + 10 * 0.3) / 20)  # 0.25
        assert ours["observed_rate"] == pytest.approx(0.2)
        assert ours["brier_score"] == pytest.approx((2 * 0.75**2 + 8 * 0.25**2) / 10)  # 0.1625
        assert ours["brier_skill_score"] == pytest.approx(1 - 0.1625 / 0.16)
    # the learning deals were open on no month start; nothing else was measured
    assert {key for key, row in rows.items() if row["status"] == "ok" and key[2] != "all"} == {
        (stage, source, "0.2-0.3") for stage in (STAGE, "all") for source in ("calibrated", "crm")
    }
    other_stage = rows[("Validating Fit", "calibrated", "all")]
    assert other_stage["deal_count"] == 0 and other_stage["status"] == "unknown"
    assert rows[("all", "crm", "all")]["first_month_start"] == dt.date(2025, 12, 1)
    assert rows[("all", "crm", "all")]["last_month_start"] == MEASURED_MONTH_START


def _daily(warehouse_path) -> set[tuple]:
    return set(_rows(warehouse_path, f"select {DAILY_COLUMNS} from intermediate.int_stage_conversions_daily"))


def test_daily_rates_incremental_runs_equal_a_full_refresh(hand_made_warehouse):
    """A backdated close date, a deleted deal and a flipped outcome on an incremental run
    rebuild exactly the days they change: the table then equals a --full-refresh."""
    warehouse_path, target_path = hand_made_warehouse
    daily = _daily(warehouse_path)
    as_of_row = _rows(
        warehouse_path,
        "select deal_count, won_count, calibrated_probability from intermediate.int_stage_conversions_daily "
        "where as_of_day = ? and stage_name = ? and segment = 'all'",
        [dt.date(2026, 10, 31), STAGE],
    )
    assert as_of_row == [(10, 2, pytest.approx(0.25))]
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(
            "update raw.opportunity set close_date = date '2026-09-20', last_modified_date = timestamp "
            "'2026-11-22 10:00' where id = '006LEARN0000000005'"
        )
        con.execute("update raw.opportunity set is_deleted = true where id = '006LEARN0000000007'")
        con.execute(
            "update raw.opportunity set stage_name = 'Closed Won', is_won = true where id = '006LEARN0000000009'"
        )
        con.execute(
            "update raw.opportunity_history set stage_name = 'Closed Won' where id = '008SHUT00000000009'"
        )
    vars_ = {"as_of_date": AS_OF.isoformat()}
    run_dbt(
        ["run", "-s", "+int_stage_conversions_daily"],
        warehouse_path=warehouse_path,
        target_path=target_path,
        dbt_vars=vars_,
    )
    incremental = _daily(warehouse_path)
    assert incremental != daily, "the changes must change the rates"
    run_dbt(
        ["run", "-s", "int_stage_conversions_daily", "--full-refresh"],
        warehouse_path=warehouse_path,
        target_path=target_path,
        dbt_vars=vars_,
    )
    assert _daily(warehouse_path) == incremental
    # the first day is now the backdated close date
    assert _rows(warehouse_path, "select min(as_of_day) from intermediate.int_stage_conversions_daily") == [
        (dt.date(2026, 9, 20),)
    ]
