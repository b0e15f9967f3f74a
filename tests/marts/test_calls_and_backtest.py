"""The calibrated call and the forecast backtest on a hand-made history where the answer
is known (DESIGN.md "Calibrated call", "Forecast backtest").

One rep, three past quarters (Q1-Q3 2026). On the first day of each, seven deals are in
Commit (1,000 each, closing on the quarter's 20th day) and one in Best Case. Every
committed deal is won at exactly 80% of its amount (800); every best-case deal is lost.
As of 2026-10-01 (day 0 of Q4 and of October) the history at the same point of the
period holds 21 committed deals -> rate_committed = 0.8, and 3 best-case deals, fewer
than calibrated_call_min_deals (20) -> the rules' weight (0.4). The open pipeline of Q4:
committed 10,000 (a next step due on Oct 5) and best case 5,000, so the rules' call is
10,000 + 0.4 x 5,000 = 12,000 and the calibrated call 0.8 x 10,000 + 0.4 x 5,000 =
10,000. Real landing files, a real `dbt build` on a real DuckDB file.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest
from conftest import BuiltWarehouse, run_dbt

AS_OF = dt.date(2026, 10, 1)
QUARTER_STARTS = [dt.date(2026, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 7, 1)]
COMMITTED_PER_QUARTER = 7
COMMITTED_AMOUNT = 1000
WON_SHARE = 0.8
REP = "005000000000000001"
ACCOUNT = "001000000000000001"


def _ts(day: dt.date) -> str:
    return f"{day.isoformat()}T12:00:00Z"


def _write(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in columns})


def _deal(
    deal_id: str, created: dt.date, close: dt.date, stage: str, amount: float, category: str, **extra
) -> dict:
    closed = stage.startswith("Closed")
    return {
        "id": deal_id,
        "account_id": ACCOUNT,
        "owner_id": REP,
        "name": f"Deal {deal_id}",
        "stage_name": stage,
        "amount": amount,
        "close_date": close.isoformat(),
        "created_date": _ts(created),
        "last_modified_date": _ts(min(close, AS_OF) if closed else created),
        "is_closed": str(closed).lower(),
        "is_won": str(stage == "Closed Won").lower(),
        "forecast_category_name": category,
        "probability": 100 if stage == "Closed Won" else (0 if closed else 50),
        "lead_source": "Inbound",
        "type": "New Business",
        "technical_fit_c": "strong",
        "trigger_event_c": "New funding",
        "is_deleted": "false",
        **extra,
    }


def _history(
    history_id: int, deal_id: str, day: dt.date, stage: str, amount: float, close: dt.date, category: str
):
    return {
        "id": f"008{history_id:015d}",
        "opportunity_id": deal_id,
        "stage_name": stage,
        "amount": amount,
        "close_date": close.isoformat(),
        "probability": 50,
        "forecast_category": category,
        "created_date": _ts(day),
        "is_deleted": "false",
    }


def write_known_history(landing_dir: Path) -> None:
    """The landing files of the history described in the module docstring."""
    from revops.crm_contract import CRM_OBJECTS

    deals: list[dict] = []
    history: list[dict] = []

    def add(deal: dict, versions: list[tuple]) -> None:
        deals.append(deal)
        for day, stage, amount, close, category in versions:
            history.append(_history(len(history) + 1, deal["id"], day, stage, amount, close, category))

    for quarter, start in enumerate(QUARTER_STARTS, start=1):
        created = start - dt.timedelta(days=20)
        close = start + dt.timedelta(days=19)
        won = COMMITTED_AMOUNT * WON_SHARE
        for n in range(COMMITTED_PER_QUARTER):
            deal_id = f"006{quarter:02d}C{n:012d}"
            add(
                _deal(deal_id, created, close, "Closed Won", won, "Closed"),
                [
                    (created, "Validating Fit", COMMITTED_AMOUNT, close, "Commit"),
                    (close, "Closed Won", won, close, "Closed"),
                ],
            )
        lost_close = start + dt.timedelta(days=25)
        deal_id = f"006{quarter:02d}B{0:012d}"
        add(
            _deal(deal_id, created, lost_close, "Closed Lost", COMMITTED_AMOUNT, "Omitted"),
            [
                (created, "Validating Fit", COMMITTED_AMOUNT, lost_close, "Best Case"),
                (lost_close, "Closed Lost", COMMITTED_AMOUNT, lost_close, "Omitted"),
            ],
        )

    # the open pipeline of Q4 on as_of_date
    opened = dt.date(2026, 9, 1)
    add(
        _deal(
            "006990000000000001",
            opened,
            dt.date(2026, 11, 15),
            "Validating Fit",
            10000,
            "Commit",
            next_step="Send the order form",
            next_step_date_c="2026-10-05",
        ),
        [(opened, "Validating Fit", 10000, dt.date(2026, 11, 15), "Commit")],
    )
    add(
        _deal("006990000000000002", opened, dt.date(2026, 12, 10), "Validating Fit", 5000, "Best Case"),
        [(opened, "Validating Fit", 5000, dt.date(2026, 12, 10), "Best Case")],
    )

    users = [
        {
            "id": REP,
            "name": "Ada Rep",
            "email": "ada@example.com",
            "department": "Team A",
            "title": "Account Executive",
            "is_active": "true",
            "created_date": _ts(dt.date(2024, 1, 1)),
        }
    ]
    accounts = [
        {
            "id": ACCOUNT,
            "name": "Known Co",
            "industry": "Software",
            "number_of_employees": 300,
            "annual_revenue": 1000000,
            "billing_country": "United Kingdom",
            "owner_id": REP,
            "created_date": _ts(dt.date(2024, 1, 1)),
        }
    ]
    quotas = [
        {
            "id": f"0J9{n:015d}",
            "quota_owner_id": REP,
            "start_date": dt.date(2026, m, 1).isoformat(),
            "quota_amount": 5000,
        }
        for n, m in enumerate(range(1, 13), start=1)
    ]
    rows = {
        "user": users,
        "account": accounts,
        "opportunity": deals,
        "opportunity_history": history,
        "forecasting_quota": quotas,
    }
    for obj in CRM_OBJECTS.values():
        _write(landing_dir / f"{obj.name}.csv", list(obj.columns), rows.get(obj.name, []))


@pytest.fixture(scope="module")
def known_history(tmp_path_factory) -> BuiltWarehouse:
    from revops.crm_contract import CRM_OBJECTS
    from revops.landing import load_landing_object

    work = tmp_path_factory.mktemp("known_history")
    landing_dir = work / "landing"
    landing_dir.mkdir()
    write_known_history(landing_dir)
    warehouse_path = work / "build.duckdb"
    with duckdb.connect(str(warehouse_path)) as con:
        for obj in CRM_OBJECTS.values():
            load_landing_object(con, obj, landing_dir)
    built = BuiltWarehouse(
        landing_dir=landing_dir, warehouse_path=warehouse_path, target_path=work / "target", as_of_date=AS_OF
    )
    run_dbt(
        [
            "build",
            "--select",
            "+forecast",
            "+forecast_backtest",
            "+forecast_trend",
            "--exclude-resource-type",
            "unit_test",
            # the tests of the selected models only, not those that also need other marts
            "--indirect-selection",
            "cautious",
        ],
        warehouse_path=warehouse_path,
        target_path=built.target_path,
        dbt_vars={"as_of_date": AS_OF.isoformat()},
    )
    return built


def test_committed_deals_that_closed_at_80_percent_give_rate_0_8(known_history):
    rows = known_history.query(
        """
        select period_type, history_period_count, committed_deal_count, committed_rate,
               committed_rate_basis, best_case_deal_count, best_case_observed_rate, best_case_rate,
               best_case_rate_basis
        from intermediate.int_calibrated_call_rates
        where rate_use = 'forecast' and period_offset = 'current'
        order by period_type
        """
    )
    expected_deals = COMMITTED_PER_QUARTER * len(QUARTER_STARTS)
    assert [r[0] for r in rows] == ["month", "quarter"]
    for period_type, periods, deals, rate, basis, best_deals, best_observed, best_rate, best_basis in rows:
        assert periods == len(QUARTER_STARTS), period_type
        assert deals == expected_deals, period_type
        assert rate == pytest.approx(WON_SHARE, abs=1e-12), period_type
        assert basis == "history"
        # three best-case deals, all lost: observed 0, but too few -> the rules' weight
        assert best_deals == len(QUARTER_STARTS)
        assert best_observed == 0
        assert best_rate == pytest.approx(0.4) and best_basis == "rules_weight"


def test_calibrated_call_applies_the_rates_beside_the_rules_call(known_history):
    # the rules' call: call_amount (DESIGN.md's name) or, before that rename, forecast_amount
    columns = {
        r[0]
        for r in known_history.query(
            "select column_name from information_schema.columns"
            " where table_schema = 'marts' and table_name = 'forecast'"
        )
    }
    rules_call_column = "call_amount" if "call_amount" in columns else "forecast_amount"
    row = known_history.query(
        f"""
        select committed_amount, best_case_amount, {rules_call_column}, calibrated_call_amount
        from marts.forecast
        where period_type = 'quarter' and period_offset = 'current' and rollup_level = 'company'
        """
    )
    assert len(row) == 1
    committed, best_case, rules_call, calibrated_call = row[0]
    assert (committed, best_case) == (10000, 5000)
    assert rules_call == pytest.approx(12000)
    assert calibrated_call == pytest.approx(WON_SHARE * 10000 + 0.4 * 5000)


def test_backtest_learns_only_from_periods_that_ended_before(known_history):
    rows = known_history.query(
        """
        select b.period_start, b.method, b.forecast_amount, b.actual_amount, b.committed_rate_basis,
               a.forecast_amount
        from marts.forecast_backtest as b
        inner join marts.forecast_accuracy as a
            on a.period_type = b.period_type and a.period_start = b.period_start
            and a.rollup_level = b.rollup_level
        where b.period_type = 'quarter' and b.rollup_level = 'company'
        order by b.period_start, b.method
        """
    )
    by_key = {(r[0], r[1]): r for r in rows}
    for start in QUARTER_STARTS:
        rules = by_key[(start, "rules")]
        # first day: 7 committed x 1,000 + one best case 1,000 x 0.4; actual 7 x 800
        assert rules[2] == pytest.approx(7000 + 400) and rules[2] == pytest.approx(rules[5])
        assert rules[3] == pytest.approx(COMMITTED_PER_QUARTER * COMMITTED_AMOUNT * WON_SHARE)
        # at most 14 committed deals ended before any of these quarters: the rules' weights
        calibrated = by_key[(start, "calibrated")]
        assert calibrated[4] == "rules_weight" and calibrated[2] == pytest.approx(rules[2])
    company = known_history.query(
        """
        select method, error_period_count, mape, bias
        from marts.forecast_backtest
        where period_type = 'quarter' and rollup_level = 'company' and period_start = date '2026-07-01'
        order by method
        """
    )
    variance = (7400 - 5600) / 5600
    for method, count, mape, bias in company:
        assert count == len(QUARTER_STARTS), method
        assert mape == pytest.approx(variance) and bias == pytest.approx(variance), method


def test_trend_on_the_first_day_shows_the_rules_call(known_history):
    rows = known_history.query(
        """
        select snapshot_date, call_amount, committed_amount, best_case_amount, target_amount
        from marts.forecast_trend
        where period_type = 'quarter' and rollup_level = 'company'
        """
    )
    assert len(rows) == 1
    snapshot_date, call, committed, best_case, target = rows[0]
    assert snapshot_date == AS_OF
    assert (committed, best_case) == (10000, 5000)
    assert call == pytest.approx(12000)
    assert target == pytest.approx(3 * 5000)


def test_trend_on_as_of_date_holds_todays_buckets(demo_warehouse):
    """On as_of_date the day-by-day buckets are today's: closed won and committed are
    forecast's, and the weighted pipeline is int_deal_probabilities' over the open deals
    closing in the period on or after today (slipped deals out), for every owner."""
    as_of = demo_warehouse.as_of_date.isoformat()
    mismatches = demo_warehouse.query(f"""
        with trend as (
            select * from marts.forecast_trend
            where snapshot_date = date '{as_of}' and rollup_level = 'owner'
        ),
        periods as (
            select * from intermediate.int_forecast_periods
            where period_offset = 'current' and period_type in ('month', 'quarter')
        ),
        weighted as (
            select periods.period_type, p.owner_id, sum(p.weighted_amount) as weighted
            from intermediate.int_deal_probabilities p
            join periods on p.close_date between periods.period_start and periods.period_end
            where p.close_date >= date '{as_of}'
            group by 1, 2
        )
        select t.period_type, t.owner_id, t.closed_won_amount, f.closed_won_amount,
               t.committed_amount, f.committed_amount, t.weighted_pipeline_amount, w.weighted
        from trend t
        join marts.forecast f
          on f.period_type = t.period_type and f.period_start = t.period_start
         and f.rollup_level = 'owner' and f.owner_id = t.owner_id
        left join weighted w on w.period_type = t.period_type and w.owner_id = t.owner_id
        where abs(t.closed_won_amount - f.closed_won_amount) > 0.001
           or abs(t.committed_amount - f.committed_amount) > 0.001
           or abs(t.weighted_pipeline_amount - coalesce(w.weighted, 0)) > 0.001
    """)
    assert mismatches == []
    owners = demo_warehouse.scalar(
        f"select count(*) from marts.forecast_trend where snapshot_date = date '{as_of}'"
        " and rollup_level = 'owner' and committed_amount > 0"
    )
    assert owners > 0
