"""Pipeline waterfall and slipped deals on the demo build: the waterfall's equation holds at
every roll-up and window, the deal-level mart sums to it, start and end are the snapshots'
open pipeline, and the forecast's buckets leave slipped deals out."""

import pytest

MOVEMENTS = [
    "start",
    "created",
    "pulled_in",
    "increased",
    "decreased",
    "unchanged",
    "won",
    "lost",
    "pushed_out",
    "removed",
    "end",
]
ADDED = {"start", "created", "pulled_in", "increased"}
SUBTRACTED = {"decreased", "won", "lost", "pushed_out", "removed"}


def _waterfall_sets(warehouse) -> dict[tuple, dict[str, tuple[int, float]]]:
    rows = warehouse.query("""
        select period, "window", rollup_level, owner_id, team, movement, deal_count, amount
        from marts.pipeline_waterfall
    """)
    sets: dict[tuple, dict[str, tuple[int, float]]] = {}
    for period, window, level, owner, team, movement, count, amount in rows:
        sets.setdefault((period, window, level, owner, team), {})[movement] = (count, amount)
    return sets


def test_waterfall_equation_holds_at_every_rollup_and_window(demo_warehouse):
    sets = _waterfall_sets(demo_warehouse)
    company = {key[:2] for key in sets if key[2] == "company"}
    assert company == {
        (period, window) for period in ("month", "quarter") for window in ("last_7_days", "period_to_date")
    }
    assert {key[2] for key in sets} == {"owner", "team", "company"}
    for key, movements in sets.items():
        assert sorted(movements) == sorted(MOVEMENTS), key
        assert all(count >= 0 and amount >= 0 for count, amount in movements.values()), key
        computed = sum(movements[m][1] for m in ADDED) - sum(movements[m][1] for m in SUBTRACTED)
        assert computed == pytest.approx(movements["end"][1], rel=1e-9, abs=1e-6), key
    # the demo gives the equation real signal: the quarter to date has deals coming and going
    quarter = sets[("quarter", "period_to_date", "company", None, None)]
    assert quarter["start"][1] > 0 and quarter["end"][1] > 0
    assert quarter["created"][0] > 0 and quarter["won"][0] > 0 and quarter["lost"][0] > 0


def test_deal_level_mart_sums_to_the_waterfall(demo_warehouse):
    sets = _waterfall_sets(demo_warehouse)
    deals = demo_warehouse.query("""
        select period, "window", owner_id, team, movement, count(*), sum(amount)
        from marts.pipeline_waterfall_deals group by all
    """)
    by_owner: dict[tuple, dict[str, tuple[int, float]]] = {}
    for period, window, owner, team, movement, count, amount in deals:
        by_owner.setdefault((period, window, "owner", owner, team), {})[movement] = (count, amount)
    ends = demo_warehouse.query("""
        select period, "window", owner_id, team,
            count(*) filter (where movement not in ('created', 'pulled_in')), sum(amount_start),
            count(*) filter (where movement not in ('won', 'lost', 'pushed_out', 'removed')), sum(amount_end)
        from marts.pipeline_waterfall_deals group by all
    """)
    for period, window, owner, team, start_count, start_amount, end_count, end_amount in ends:
        by_owner[(period, window, "owner", owner, team)]["start"] = (start_count, start_amount)
        by_owner[(period, window, "owner", owner, team)]["end"] = (end_count, end_amount)
    owner_sets = {key: value for key, value in sets.items() if key[2] == "owner"}
    assert set(owner_sets) == set(by_owner)
    for key, movements in owner_sets.items():
        for movement, (count, amount) in movements.items():
            expected_count, expected_amount = by_owner[key].get(movement, (0, 0.0))
            assert (count, amount) == (expected_count, pytest.approx(expected_amount, abs=1e-6)), (
                key,
                movement,
            )
    duplicates = demo_warehouse.scalar("""
        select count(*) - count(distinct (period, "window", opportunity_id)) from marts.pipeline_waterfall_deals
    """)
    assert duplicates == 0, "a deal is in more than one movement"


def test_start_and_end_are_the_snapshots_open_pipeline(demo_warehouse):
    """Independently of the models: S and E straight from fct_deal_snapshots, and E is the
    forecast's open pipeline plus its slipped deals (the waterfall keeps slipped deals)."""
    mismatches = demo_warehouse.query("""
        with waterfall as (
            select period, "window", window_start_date, window_end_date, period_start, period_end,
                max(case when movement = 'start' then amount end) as start_amount,
                max(case when movement = 'start' then deal_count end) as start_count,
                max(case when movement = 'end' then amount end) as end_amount,
                max(case when movement = 'end' then deal_count end) as end_count
            from marts.pipeline_waterfall where rollup_level = 'company' group by all
        ),
        snapshots as (
            select w.period, w."window",
                sum(case when s.snapshot_date = w.window_start_date then coalesce(s.amount, 0) else 0 end) as s_amount,
                count(*) filter (where s.snapshot_date = w.window_start_date) as s_count,
                sum(case when s.snapshot_date = w.window_end_date then coalesce(s.amount, 0) else 0 end) as e_amount,
                count(*) filter (where s.snapshot_date = w.window_end_date) as e_count
            from waterfall w
            join marts.fct_deal_snapshots s
              on s.snapshot_date in (w.window_start_date, w.window_end_date)
             and s.close_date between w.period_start and w.period_end
            group by all
        )
        select w.period, w."window"
        from waterfall w join snapshots s using (period, "window")
        where abs(w.start_amount - s.s_amount) > 1e-6 or w.start_count <> s.s_count
           or abs(w.end_amount - s.e_amount) > 1e-6 or w.end_count <> s.e_count
    """)
    assert mismatches == []
    not_forecast = demo_warehouse.query("""
        select f.period_type
        from marts.forecast f
        join marts.pipeline_waterfall w
          on w.period = f.period_type and w.period_start = f.period_start
         and w.rollup_level = 'company' and w.movement = 'end'
        where f.rollup_level = 'company' and f.period_offset = 'current'
          and (abs(w.amount - (f.open_pipeline_amount + f.slipped_amount)) > 1e-6
               or w.deal_count <> f.open_deal_count + f.slipped_count)
    """)
    assert not_forecast == []


def test_forecast_buckets_leave_slipped_deals_out(demo_warehouse):
    as_of = demo_warehouse.as_of_date.isoformat()
    in_a_bucket = demo_warehouse.scalar("""
        select count(*) from intermediate.int_deal_forecast_buckets
        where is_slipped and (is_committed or is_best_case or committed_amount <> 0 or best_case_amount <> 0
                              or open_amount <> 0 or weighted_pipeline_amount <> 0)
    """)
    assert in_a_bucket == 0
    expected = demo_warehouse.query(f"""
        with deals as (select * from intermediate.int_deals_as_of)
        select p.period_type, p.period_start,
            coalesce(sum(d.amount) filter (where d.close_date < date '{as_of}'), 0),
            count(d.opportunity_id) filter (where d.close_date < date '{as_of}'),
            coalesce(sum(d.amount) filter (where d.close_date >= date '{as_of}'), 0)
        from intermediate.int_forecast_periods p
        left join deals d on d.is_open and d.close_date between p.period_start and p.period_end
        where p.period_type in ('month', 'quarter')
        group by all order by 1, 2
    """)
    actual = demo_warehouse.query("""
        select period_type, period_start, slipped_amount, slipped_count, open_pipeline_amount
        from marts.forecast where rollup_level = 'company' order by 1, 2
    """)
    assert [(t, s, pytest.approx(a), c, pytest.approx(o)) for t, s, a, c, o in expected] == actual
    current_quarter = min(row for row in actual if row[0] == "quarter")
    assert current_quarter[3] > 0, "the demo data should have slipped deals in the current quarter"
    calls = demo_warehouse.query("""
        select call_amount, closed_won_amount + committed_amount + best_case_weighted_amount,
            coverage_ratio, open_pipeline_amount / nullif(target_amount, 0)
        from marts.forecast where rollup_level = 'company'
    """)
    for call, parts, coverage, open_over_target in calls:
        assert call == pytest.approx(parts)
        assert coverage == pytest.approx(open_over_target)
