"""Forecast, run rate, Plan My Day and health on the demo build: roll-ups that add up,
and figures recomputed independently from the deal state."""

import pytest

FORECAST_AMOUNTS = [
    "target_amount",
    "closed_won_amount",
    "committed_amount",
    "best_case_amount",
    "best_case_weighted_amount",
    "slipped_amount",
    "slipped_count",
    "open_pipeline_amount",
    "weighted_pipeline_amount",
    "call_amount",
    "gap_to_target_amount",
]
RUN_RATE_AMOUNTS = [
    "target_amount",
    "closed_won_amount",
    "committed_amount",
    "best_case_weighted_amount",
    "projected_amount",
]


def _rollup_mismatches(warehouse, mart, period_columns, amounts):
    keys = ", ".join(period_columns)
    sums = ", ".join(f"sum({a}) as {a}" for a in amounts)
    compare = " or ".join(f"abs(coalesce(a.{c}, 0) - coalesce(b.{c}, 0)) > 0.001" for c in amounts)
    join = " and ".join(f"a.{k} = b.{k}" for k in period_columns)
    owners_to_teams = warehouse.query(f"""
        with owners as (select {keys}, team, {sums} from marts.{mart} where rollup_level = 'owner' group by {keys}, team),
        teams as (select * from marts.{mart} where rollup_level = 'team')
        select a.team from owners a join teams b on {join} and a.team = b.team where {compare}
    """)
    teams_to_company = warehouse.query(f"""
        with teams as (select {keys}, {sums} from marts.{mart} where rollup_level = 'team' group by {keys}),
        company as (select * from marts.{mart} where rollup_level = 'company')
        select a.{period_columns[0]} from teams a join company b on {join} where {compare}
    """)
    return owners_to_teams, teams_to_company


@pytest.mark.parametrize(
    "mart, period_columns, amounts",
    [
        ("forecast", ["period_type", "period_start"], FORECAST_AMOUNTS),
        ("run_rate", ["period"], RUN_RATE_AMOUNTS),
    ],
)
def test_owner_rows_sum_to_team_rows_sum_to_company_rows(demo_warehouse, mart, period_columns, amounts):
    owners_to_teams, teams_to_company = _rollup_mismatches(demo_warehouse, mart, period_columns, amounts)
    assert owners_to_teams == [] and teams_to_company == []
    assert demo_warehouse.scalar(f"select count(*) from marts.{mart} where rollup_level = 'company'") > 0


def test_forecast_buckets_recomputed_from_the_deal_state(demo_warehouse):
    as_of = demo_warehouse.as_of_date.isoformat()
    expected = demo_warehouse.query(f"""
        with deals as (select * from intermediate.int_deals_as_of),
        month as (select date_trunc('month', date '{as_of}')::date as s, (date_trunc('month', date '{as_of}') + interval 1 month - interval 1 day)::date as e)
        select
            sum(case when is_won_stage and close_date between s and date '{as_of}' then amount else 0 end),
            sum(case when is_open and close_date between s and e and close_date >= date '{as_of}'
                     and has_next_step and next_step_date <= date '{as_of}' + 7 then amount else 0 end),
            sum(case when is_open and close_date between s and e and close_date >= date '{as_of}'
                     then amount else 0 end),
            sum(case when is_open and close_date between s and e and close_date < date '{as_of}'
                     then amount else 0 end)
        from deals, month
    """)[0]
    actual = demo_warehouse.query("""
        select closed_won_amount, committed_amount, open_pipeline_amount, slipped_amount
        from marts.forecast
        where rollup_level = 'company' and period_type = 'month' and period_offset = 'current'
    """)[0]
    assert actual == pytest.approx(expected)
    assert actual[1] > 0, "the demo data should give the committed bucket real signal"


def test_run_rate_expected_share_counts_business_days(demo_warehouse):
    as_of = demo_warehouse.as_of_date.isoformat()
    elapsed, total = demo_warehouse.query(f"""
        select
            count(*) filter (where is_business_day and calendar_date <= date '{as_of}'),
            count(*) filter (where is_business_day)
        from intermediate.int_calendar_days
        where calendar_date between date_trunc('month', date '{as_of}')
            and date_trunc('month', date '{as_of}') + interval 1 month - interval 1 day
    """)[0]
    share = demo_warehouse.scalar(
        "select expected_share from marts.run_rate where rollup_level = 'company' and period = 'MTD'"
    )
    assert share == pytest.approx(elapsed / total)


def test_daily_action_list_ranks_within_owner_and_block(demo_warehouse):
    gaps = demo_warehouse.query("""
        select owner_id from marts.daily_action_list
        group by owner_id having max(rank) <> count(*) or min(rank) <> 1
    """)
    assert gaps == []
    out_of_order = demo_warehouse.query("""
        select a.owner_id, a.rank
        from marts.daily_action_list a
        join marts.daily_action_list b on a.owner_id = b.owner_id and b.rank = a.rank + 1
        where a.priority_block > b.priority_block
           or (a.priority_block = b.priority_block and a.revenue_at_stake_amount < b.revenue_at_stake_amount)
    """)
    assert out_of_order == []
    kinds = {
        row[0] for row in demo_warehouse.query("select distinct action_type from marts.daily_action_list")
    }
    assert {"closing_without_next_step", "overdue_follow_up", "late_stage_next_step"} <= kinds


def test_forecast_accuracy_covers_past_periods_on_both_bases(demo_warehouse):
    periods = demo_warehouse.scalar(
        "select count(distinct period_start) from marts.forecast_accuracy where period_type = 'month'"
    )
    assert periods >= 6
    unreconciled = demo_warehouse.query("""
        select a.period_type, a.period_start
        from marts.forecast_accuracy a
        join (select period_type, period_start, sum(actual_amount) as actual, sum(forecast_amount) as forecast
              from marts.forecast_accuracy where rollup_level = 'owner' group by 1, 2) o
          on a.period_type = o.period_type and a.period_start = o.period_start
        where a.rollup_level = 'company' and (abs(a.actual_amount - o.actual) > 0.001 or abs(a.forecast_amount - o.forecast) > 0.001)
    """)
    assert unreconciled == []


def test_revops_health_status_agrees_with_its_band(demo_warehouse):
    rows = demo_warehouse.query("""
        select metric, value, healthy_min, healthy_max, status
        from marts.revops_health where rollup_level = 'company' and status in ('green', 'yellow', 'red')
    """)
    assert {r[0] for r in rows} >= {"pipeline_coverage", "next_step_share", "icp_share_of_pipeline"}
    for metric, value, low, high, status in rows:
        inside = (low is None or value >= low) and (high is None or value <= high)
        if metric == "forecast_variance":
            inside = abs(value) <= high
        if status == "green":
            assert inside, (metric, value, low, high)
        else:
            assert not inside or metric in ("next_step_share", "icp_share_of_pipeline"), (
                metric,
                value,
                status,
            )
