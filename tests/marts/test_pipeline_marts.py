"""The pipeline marts on the demo warehouse: deal snapshots, stage history, hygiene.

Each test recomputes what a mart promises from another table (deal_risk, staging)
in plain Python, so a mistake has to be made twice to go unnoticed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections import defaultdict

import duckdb
import pytest
from conftest import run_dbt

HYGIENE_COUNTS = {
    "no_next_step_count": "not has_next_step",
    "close_date_past_count": "is_close_date_past",
    "stalled_count": "is_stalled",
    "floating_count": "is_floating",
    "inactive_count": "is_inactive",
}


def _open_stages(warehouse) -> set[str]:
    return {
        row[0] for row in warehouse.query("select stage_name from reference.stage_map where not is_closed")
    }


def test_snapshot_of_as_of_date_holds_the_deals_of_deal_risk(demo_warehouse):
    risk = {
        row[0]: row[1:]
        for row in demo_warehouse.query(
            "select opportunity_id, owner_id, stage_name, amount, close_date, days_in_stage from marts.deal_risk"
        )
    }
    snapshot = {
        row[0]: row[1:]
        for row in demo_warehouse.query(
            "select opportunity_id, owner_id, stage_name, amount, close_date, days_in_stage "
            "from marts.fct_deal_snapshots where snapshot_date = ?",
            [demo_warehouse.as_of_date],
        )
    }
    assert risk, "the demo data has no open deals on as_of_date"
    assert set(snapshot) == set(risk)
    assert snapshot == risk
    last_day = demo_warehouse.scalar("select max(snapshot_date) from marts.fct_deal_snapshots")
    assert last_day == demo_warehouse.as_of_date


def test_snapshot_days_follow_the_history_rows(demo_warehouse):
    """Recompute DESIGN.md's "stage on a day" and "open on day d" from staging for a
    sample of days and compare each deal's stage, amount and close date."""
    opportunities = {
        row[0]: row[1:]
        for row in demo_warehouse.query(
            "select opportunity_id, created_date, stage_name, amount, close_date "
            "from staging.stg_salesforce__opportunities"
        )
    }
    history = defaultdict(list)
    for opportunity_id, created_date, stage_name, amount, close_date in demo_warehouse.query(
        "select opportunity_id, created_date, stage_name, amount, close_date "
        "from staging.stg_salesforce__opportunity_history order by created_at, opportunity_history_id"
    ):
        history[opportunity_id].append((created_date, stage_name, amount, close_date))
    open_stages = _open_stages(demo_warehouse)

    first_day = demo_warehouse.scalar("select min(snapshot_date) from marts.fct_deal_snapshots")
    as_of = demo_warehouse.as_of_date
    days = sorted(
        {
            first_day,
            as_of,
            *(first_day + dt.timedelta(days=n) for n in range(0, (as_of - first_day).days, 37)),
        }
    )

    for day in days:
        expected = {}
        for opportunity_id, (created_date, stage_name, amount, close_date) in opportunities.items():
            if created_date > day:
                continue
            known = [row for row in history[opportunity_id] if row[0] <= day]
            has_later = len(known) < len(history[opportunity_id])
            if known:
                stage_name = known[-1][1]
                if has_later:
                    amount, close_date = known[-1][2], known[-1][3]
            if stage_name in open_stages:
                expected[opportunity_id] = (stage_name, amount, close_date)
        actual = {
            row[0]: row[1:]
            for row in demo_warehouse.query(
                "select opportunity_id, stage_name, amount, close_date "
                "from marts.fct_deal_snapshots where snapshot_date = ?",
                [day],
            )
        }
        assert actual == expected, f"snapshot of {day} differs from the history rows"


def test_stage_intervals_tile_each_deals_life(demo_warehouse):
    intervals = defaultdict(list)
    for opportunity_id, sequence, entered_at, exited_at, is_current in demo_warehouse.query(
        "select opportunity_id, stage_sequence, entered_at, exited_at, is_current "
        "from marts.fct_stage_history order by opportunity_id, stage_sequence"
    ):
        intervals[opportunity_id].append((sequence, entered_at, exited_at, is_current))
    deals = {
        row[0]
        for row in demo_warehouse.query(
            "select opportunity_id from staging.stg_salesforce__opportunities where created_date <= ?",
            [demo_warehouse.as_of_date],
        )
    }
    assert set(intervals) == deals, "every deal created by as_of_date has stage intervals"
    for opportunity_id, rows in intervals.items():
        assert [row[0] for row in rows] == list(range(1, len(rows) + 1)), opportunity_id
        assert sum(1 for row in rows if row[3]) == 1, f"{opportunity_id}: not exactly one current interval"
        for this, following in itertools.pairwise(rows):
            assert this[2] == following[1], f"{opportunity_id}: gap or overlap after interval {this[0]}"
            assert not this[3]
        last = rows[-1]
        assert last[2] is None and last[3], f"{opportunity_id}: the last interval must be current"


def test_stage_history_days_match_the_calendar(demo_warehouse):
    rows = demo_warehouse.query(
        "select entered_date, coalesce(exited_date, ?), days_in_stage, business_days_in_stage "
        "from marts.fct_stage_history",
        [demo_warehouse.as_of_date],
    )
    business_days = {
        row[0]
        for row in demo_warehouse.query(
            "select calendar_date from intermediate.int_calendar_days where is_business_day"
        )
    }
    for entered, until, days, business in rows[:500]:
        assert days == (until - entered).days
        assert business == sum(
            1 for n in range(1, days + 1) if entered + dt.timedelta(days=n) in business_days
        )


def _expected_hygiene(warehouse) -> dict[tuple, dict]:
    deals = warehouse.query(
        "select risk.owner_id, reps.team, risk.amount, risk.has_next_step, risk.is_close_date_past, "
        "risk.is_stalled, risk.is_floating, risk.is_inactive "
        "from marts.deal_risk as risk left join marts.dim_reps as reps on risk.owner_id = reps.owner_id"
    )
    expected: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for owner_id, team, amount, has_next_step, past, stalled, floating, inactive in deals:
        flags = {
            "open_deal_count": 1,
            "open_amount": amount or 0,
            "no_next_step_count": int(not has_next_step),
            "close_date_past_count": int(past),
            "stalled_count": int(stalled),
            "floating_count": int(floating),
            "inactive_count": int(inactive),
        }
        for key in [("owner", owner_id, team), ("team", None, team), ("company", None, None)]:
            for name, value in flags.items():
                expected[key][name] += value
    return expected


def test_hygiene_counts_equal_the_flags_in_deal_risk(demo_warehouse):
    expected = _expected_hygiene(demo_warehouse)
    columns = ["open_deal_count", "open_amount", *HYGIENE_COUNTS, "next_step_rate"]
    actual = {
        (row[0], row[1], row[2]): dict(zip(columns, row[3:], strict=False))
        for row in demo_warehouse.query(
            f"select rollup_level, owner_id, team, {', '.join(columns)} from marts.pipeline_hygiene "
            "where as_of_date = ?",
            [demo_warehouse.as_of_date],
        )
    }
    assert set(actual) == set(expected)
    assert sum(1 for key in actual if key[0] == "company") == 1
    for key, values in expected.items():
        for name in ["open_deal_count", *HYGIENE_COUNTS]:
            assert actual[key][name] == values[name], f"{key} {name}"
        assert actual[key]["open_amount"] == pytest.approx(values["open_amount"])
        with_next_step = values["open_deal_count"] - values["no_next_step_count"]
        assert actual[key]["next_step_rate"] == pytest.approx(with_next_step / values["open_deal_count"])


def test_hygiene_owner_rows_add_up_to_team_rows_and_company(demo_warehouse):
    columns = ["open_deal_count", "open_amount", *HYGIENE_COUNTS]
    rows = demo_warehouse.query(
        f"select rollup_level, team, {', '.join(columns)} from marts.pipeline_hygiene"
    )
    owners_by_team: dict = defaultdict(lambda: [0] * len(columns))
    teams_total = [0] * len(columns)
    team_rows, company = {}, None
    for level, team, *values in rows:
        if level == "owner":
            owners_by_team[team] = [a + b for a, b in zip(owners_by_team[team], values, strict=False)]
        elif level == "team":
            team_rows[team] = values
            teams_total = [a + b for a, b in zip(teams_total, values, strict=False)]
        else:
            company = values
    assert team_rows.keys() == owners_by_team.keys()
    for team, values in team_rows.items():
        assert owners_by_team[team] == pytest.approx(values), team
    assert teams_total == pytest.approx(company)


def test_weekly_trend_current_week_equals_todays_hygiene(demo_warehouse):
    """The current week is measured on as_of_date; the snapshot captured today's next
    steps, so every column matches pipeline_hygiene."""
    columns = ["open_deal_count", "open_amount", *HYGIENE_COUNTS, "next_step_count", "next_step_rate"]
    today = {
        row[:3]: row[3:]
        for row in demo_warehouse.query(
            f"select rollup_level, owner_id, team, {', '.join(columns)} from marts.pipeline_hygiene"
        )
    }
    this_week = {
        row[:3]: row[3:]
        for row in demo_warehouse.query(
            f"select rollup_level, owner_id, team, {', '.join(columns)} from marts.pipeline_hygiene_weekly "
            "where snapshot_date = ?",
            [demo_warehouse.as_of_date],
        )
    }
    assert this_week.keys() == today.keys()
    for key, values in today.items():
        assert this_week[key] == pytest.approx(values), key

    weeks = demo_warehouse.query(
        "select week_start, snapshot_date, is_next_step_captured, next_step_rate "
        "from marts.pipeline_hygiene_weekly where rollup_level = 'company' order by week_start"
    )
    assert len(weeks) > 52, "the demo's 18 months of history give a weekly trend"
    for week_start, snapshot_date, captured, rate in weeks:
        assert week_start.isoweekday() == 1
        assert snapshot_date == min(week_start + dt.timedelta(days=6), demo_warehouse.as_of_date)
        assert captured == (snapshot_date == demo_warehouse.as_of_date)
        assert (rate is None) == (not captured)


def test_dbt_snapshot_captures_the_state_with_the_as_of_date(demo_warehouse):
    deals, captured = demo_warehouse.query(
        "select (select count(*) from staging.stg_salesforce__opportunities), "
        "count(*) from snapshots.opportunity_state_snapshot "
        "where as_of_date = ? and dbt_valid_to is null and cast(dbt_valid_from as date) = as_of_date",
        [demo_warehouse.as_of_date],
    )[0]
    assert deals == captured > 0


def test_dims_cover_every_owner_deal_and_account(demo_warehouse):
    assert (
        demo_warehouse.scalar("select count(*) from marts.dim_deals where is_open and risk_level is null")
        == 0
    )
    assert demo_warehouse.scalar(
        "select count(*) from marts.dim_deals where is_open"
    ) == demo_warehouse.scalar("select count(*) from marts.deal_risk")
    assert demo_warehouse.scalar("select count(*) from marts.dim_reps where is_manager") > 0


def test_incremental_run_adds_the_next_day_and_keeps_earlier_days(demo_warehouse, tmp_path):
    """On a copy of the demo warehouse: a run for as_of_date D (the fixture's) then D + 1
    adds day D + 1, rebuilds only the last `snapshot_lookback_days` days and leaves every
    earlier day as it was. A marker written into an old day survives (the day was not
    rebuilt); one written into the lookback window is overwritten."""
    day = demo_warehouse.as_of_date
    next_day = day + dt.timedelta(days=1)
    old_day = day - dt.timedelta(days=30)
    recent_day = day - dt.timedelta(days=1)
    warehouse_path = tmp_path / "incremental.duckdb"
    shutil.copyfile(demo_warehouse.warehouse_path, warehouse_path)
    order = "order by snapshot_date, opportunity_id"

    with duckdb.connect(str(warehouse_path)) as con:
        before = con.execute(f"select * from marts.fct_deal_snapshots {order}").fetchall()
        markers = []
        for marker_day in (old_day, recent_day):
            opportunity_id = con.execute(
                "select min(opportunity_id) from marts.fct_deal_snapshots where snapshot_date = ?",
                [marker_day],
            ).fetchone()[0]
            con.execute(
                "update marts.fct_deal_snapshots set amount = -1 "
                "where snapshot_date = ? and opportunity_id = ?",
                [marker_day, opportunity_id],
            )
            markers.append((marker_day, opportunity_id))

    for as_of in (day, next_day):
        run_dbt(
            ["run", "--select", "fct_deal_snapshots"],
            warehouse_path=warehouse_path,
            target_path=tmp_path / "target",
            dbt_vars={"as_of_date": as_of.isoformat()},
        )

    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        after = con.execute(f"select * from marts.fct_deal_snapshots {order}").fetchall()
        marked = con.execute(
            "select snapshot_date, opportunity_id from marts.fct_deal_snapshots where amount = -1"
        ).fetchall()

    days_before = sorted({row[0] for row in before})
    days_after = sorted({row[0] for row in after})
    assert days_after == [*days_before, next_day], "exactly one new day"
    assert marked == [markers[0]], "the old day is kept, the lookback days are rebuilt"
    unmarked_before = [row for row in before if (row[0], row[1]) != markers[0]]
    unmarked_after = [row for row in after if row[0] <= day and (row[0], row[1]) != markers[0]]
    assert unmarked_after == unmarked_before, "days up to D are unchanged"

    # the demo data has no history rows or new deals after D: the same deals are open on D + 1
    assert (
        demo_warehouse.scalar(
            "select count(*) from staging.stg_salesforce__opportunity_history where created_date > ?", [day]
        )
        == 0
    )
    open_on_day = {row[1] for row in after if row[0] == day}
    open_on_next_day = {row[1] for row in after if row[0] == next_day}
    assert open_on_next_day == open_on_day
