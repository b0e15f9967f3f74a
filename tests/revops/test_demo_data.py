"""The demo CRM generator: deterministic files that honour the input contract and carry
the signal every mart needs. Real files in tmp_path, queried with DuckDB."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

import revops_demo.generator as demo_generator
from revops.crm_contract import CRM_OBJECTS
from revops_demo import api_name, generate_demo_data, main

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
AS_OF = dt.date(2026, 11, 23)  # a Monday: the previous business day is Friday 2026-11-20
SCALE = {"reps": 12, "deals": 3000, "months": 18, "seed": 7}
VAGUE = ("follow up", "waiting on them", "tbd", "check in")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _connect(folder: Path, file_format: str = "csv") -> duckdb.DuckDBPyConnection:
    """Each object as a table typed by the contract (as the landing loader declares them)."""
    con = duckdb.connect()
    for name, obj in CRM_OBJECTS.items():
        if file_format == "csv":
            types = ", ".join(f"'{c}': '{t}'" for c, t in obj.columns.items())
            source = f"read_csv('{folder / (name + '.csv')}', header = true, columns = {{{types}}})"
        else:
            source = f"read_parquet('{folder / (name + '.parquet')}')"
        con.execute(f'create table "{name}" as select * from {source}')
    con.execute(f"create table stage_map as select * from read_csv('{SEEDS / 'stage_map.csv'}')")
    con.execute(
        f"create table icp_rules as select * from read_csv('{SEEDS / 'icp_rules.csv'}', all_varchar = true)"
    )
    con.execute("""
        create table deals as
        select o.*, a.industry, a.number_of_employees,
               a.industry in (select rule_value from icp_rules where criterion = 'industry')
               and a.number_of_employees >= (select rule_value::int from icp_rules where rule_type = 'min_employees')
               and a.number_of_employees <= (select rule_value::int from icp_rules where rule_type = 'max_employees')
               and coalesce(trim(o.trigger_event_c), '') <> ''
               and o.technical_fit_c = (select rule_value from icp_rules where criterion = 'technical_fit')
                   as is_icp
        from opportunity o join account a on a.id = o.account_id
    """)
    con.execute("""
        create table hist as
        select h.*, lag(h.stage_name) over w as prev_stage, lag(h.close_date) over w as prev_close_date,
               lag(h.created_date) over w as prev_created_date,
               row_number() over (partition by h.opportunity_id order by h.created_date desc) as rn_desc
        from opportunity_history h
        window w as (partition by h.opportunity_id order by h.created_date)
    """)
    return con


def _scalar(con, sql: str, params=None):
    return con.execute(sql, params or []).fetchone()[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_csv")
    counts = generate_demo_data(out, as_of_date=AS_OF, **SCALE)
    return out, counts, _connect(out)


@pytest.fixture(scope="module")
def con(demo):
    return demo[2]


# ---------------------------------------------------------------- files and formats


def test_same_parameters_give_identical_files_and_another_seed_differs(tmp_path):
    kwargs = {"reps": 6, "deals": 600, "months": 12, "as_of_date": AS_OF}
    generate_demo_data(tmp_path / "a", seed=3, **kwargs)
    generate_demo_data(tmp_path / "b", seed=3, **kwargs)
    generate_demo_data(tmp_path / "c", seed=4, **kwargs)
    first, again, other = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert first == again
    assert sorted(first) == sorted(other)
    assert first["opportunity.csv"] != other["opportunity.csv"]
    assert first["task.csv"] != other["task.csv"]


def test_one_file_per_object_with_exactly_the_contract_columns(demo):
    out, counts, _ = demo
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.csv" for n in CRM_OBJECTS)
    assert list(counts) == list(CRM_OBJECTS)
    for name, obj in CRM_OBJECTS.items():
        with open(out / f"{name}.csv", newline="") as f:
            reader = csv.reader(f)
            assert next(reader) == obj.required_columns, name
            rows = sum(1 for _ in reader)
        assert rows == counts[name] > 0, name


def test_csv_values_use_the_documented_formats(demo):
    out, _, _ = demo
    with open(out / "opportunity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    timestamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    assert all(timestamp.match(r["created_date"]) for r in rows)
    assert all(timestamp.match(r["last_modified_date"]) for r in rows)
    assert all(date.match(r["close_date"]) for r in rows)
    assert {r["is_closed"] for r in rows} == {"true", "false"}
    assert all(re.match(r"^006\d{15}$", r["id"]) for r in rows)
    assert any(r["next_step_date_c"] == "" for r in rows)  # null = empty field
    with open(out / "task.csv", newline="") as f:
        tasks = list(csv.DictReader(f))
    assert all(re.match(r"^00T\d{15}$", r["id"]) for r in tasks)
    assert any(r["completed_date_time"] == "" for r in tasks)
    assert all(timestamp.match(r["completed_date_time"]) for r in tasks if r["completed_date_time"])


def test_camel_case_headers_are_salesforce_api_names(tmp_path):
    generate_demo_data(tmp_path, reps=4, deals=200, months=6, as_of_date=AS_OF, camel_case_headers=True)
    headers = {}
    for name in CRM_OBJECTS:
        with open(tmp_path / f"{name}.csv", newline="") as f:
            headers[name] = next(csv.reader(f))
        assert headers[name] == [api_name(c) for c in CRM_OBJECTS[name].required_columns]
    assert headers["opportunity"][:2] == ["Id", "AccountId"]
    for expected in (
        "StageName",
        "Next_Step_Date__c",
        "Trigger_Event__c",
        "Technical_Fit__c",
        "IsDeleted",
        "ForecastCategoryName",
        "LastModifiedDate",
    ):
        assert expected in headers["opportunity"]
    assert "NumberOfEmployees" in headers["account"]
    assert "CompletedDateTime" in headers["task"]
    assert "QuotaOwnerId" in headers["forecasting_quota"]
    assert "ConvertedOpportunityId" in headers["lead"]


def test_parquet_output_is_typed_and_holds_the_same_rows_as_csv(demo, tmp_path):
    _out, counts, csv_con = demo
    parquet_counts = generate_demo_data(tmp_path, as_of_date=AS_OF, file_format="parquet", **SCALE)
    assert parquet_counts == counts
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.parquet" for n in CRM_OBJECTS)
    pq_con = duckdb.connect()
    for name, obj in CRM_OBJECTS.items():
        described = pq_con.execute(
            f"describe select * from read_parquet('{tmp_path / (name + '.parquet')}')"
        ).fetchall()
        assert [(c, t) for c, t, *_ in described] == list(obj.columns.items()), name
    sql = "select * from {} order by id"
    parquet_rows = pq_con.execute(
        sql.format(f"read_parquet('{tmp_path / 'opportunity.parquet'}')")
    ).fetchall()
    assert parquet_rows == csv_con.execute(sql.format("opportunity")).fetchall()


def test_progress_is_reported_per_block_on_large_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_generator, "CHUNK_DEALS", 300)
    monkeypatch.setattr(demo_generator, "PROGRESS_MIN_DEALS", 500)
    lines: list[str] = []
    generate_demo_data(tmp_path, reps=4, deals=700, months=6, as_of_date=AS_OF, progress=lines.append)
    assert len(lines) == 3
    assert lines[-1].startswith("deals 700/700 (100%)")


def test_command_line(tmp_path, capsys):
    code = main(
        [
            "--out",
            str(tmp_path),
            "--deals",
            "300",
            "--reps",
            "5",
            "--months",
            "6",
            "--as-of",
            "2026-11-23",
            "--format",
            "parquet",
            "--seed",
            "1",
        ]
    )
    assert code == 0
    assert "opportunity 300" in capsys.readouterr().out
    assert (tmp_path / "opportunity.parquet").exists()


# ---------------------------------------------------------------- integrity


def test_foreign_keys_resolve(con):
    checks = {
        "opportunity.account_id": "select count(*) from opportunity where account_id not in (select id from account)",
        "opportunity.owner_id": 'select count(*) from opportunity where owner_id not in (select id from "user")',
        "account.owner_id": 'select count(*) from account where owner_id not in (select id from "user")',
        "history.opportunity_id": "select count(*) from opportunity_history where opportunity_id not in (select id from opportunity)",
        "task.what_id": "select count(*) from task where what_id not in (select id from opportunity union all select id from account)",
        "event.what_id": "select count(*) from event where what_id not in (select id from opportunity union all select id from account)",
        "task.owner_id": 'select count(*) from task where owner_id not in (select id from "user")',
        "quota.owner": 'select count(*) from forecasting_quota where quota_owner_id not in (select id from "user")',
        "lead.converted_opportunity_id": "select count(*) from lead where converted_opportunity_id not in (select id from opportunity)",
        "user.manager_id": 'select count(*) from "user" where manager_id not in (select id from "user")',
    }
    assert {k: _scalar(con, sql) for k, sql in checks.items()} == dict.fromkeys(checks, 0)
    for table, obj in CRM_OBJECTS.items():
        if "id" in obj.columns:  # marketing_spend's key is (month, channel), tested with it
            assert _scalar(con, f'select count(*) - count(distinct id) from "{table}"') == 0, table
    assert _scalar(con, "select count(*) from task where what_id like '001%'") > 0
    assert (
        _scalar(
            con,
            "select count(*) from lead where is_converted and converted_date > "
            "(select created_date::date from opportunity where id = converted_opportunity_id)",
        )
        == 0
    )


def test_current_state_is_the_last_history_row(con):
    mismatches = _scalar(
        con,
        """
        select count(*) from opportunity o
        left join hist h on h.opportunity_id = o.id and h.rn_desc = 1
        join stage_map s on s.stage_name = o.stage_name
        where h.opportunity_id is null
           or o.stage_name <> h.stage_name or o.amount <> h.amount or o.close_date <> h.close_date
           or o.probability <> h.probability or o.forecast_category_name <> h.forecast_category
           or o.last_modified_date < h.created_date
           or o.is_closed <> s.is_closed or o.is_won <> s.is_won
           -- the CRM's probability: the stage default when closed; open, the default plus
           -- the rep's optimism and the deal's noise, within 1-99
           or (s.is_closed and o.probability <> round(s.default_probability * 100, 6))
           or (not s.is_closed and (o.probability < 1 or o.probability > 99))
           -- the forecast category: the stage map's when closed, the rep's call when open
           or (s.is_closed and o.forecast_category_name <> s.default_forecast_category)
           or (not s.is_closed and o.forecast_category_name not in ('Pipeline', 'Best Case', 'Commit'))
           or (o.is_closed and h.created_date::date <> o.close_date)
    """,
    )
    assert mismatches == 0
    first_rows_not_at_creation = _scalar(
        con,
        """
        select count(*) from hist h join opportunity o on o.id = h.opportunity_id
        where h.prev_created_date is null and h.created_date <> o.created_date
    """,
    )
    assert first_rows_not_at_creation == 0


def test_history_is_ordered_and_nothing_is_dated_after_as_of(con):
    assert _scalar(con, "select count(*) from hist where prev_created_date >= created_date") == 0
    assert _scalar(con, "select count(*) from opportunity_history where created_date::date > ?", [AS_OF]) == 0
    assert (
        _scalar(
            con,
            "select count(*) from opportunity where created_date::date > ? or last_modified_date::date > ?",
            [AS_OF, AS_OF],
        )
        == 0
    )
    # completed activity never after as-of; only open tasks and meetings are scheduled ahead
    assert (
        _scalar(
            con,
            "select count(*) from task where status = 'Completed' and (activity_date > ? or completed_date_time::date > ?)",
            [AS_OF, AS_OF],
        )
        == 0
    )
    assert _scalar(con, "select count(*) from task where created_date::date > ?", [AS_OF]) == 0
    assert (
        _scalar(
            con,
            "select count(*) from task where status = 'Not Started' and not is_closed and completed_date_time is null and activity_date > ?",
            [AS_OF],
        )
        > 0
    )
    assert _scalar(con, "select count(*) from event where start_date_time::date > ?", [AS_OF]) > 0
    # activity stays within the deal's life
    before_or_after = _scalar(
        con,
        """
        select count(*) from task t join opportunity o on o.id = t.what_id
        where t.status = 'Completed' and (t.completed_date_time < o.created_date
              or (o.is_closed and t.activity_date > o.close_date))
    """,
    )
    assert before_or_after == 0


def test_soft_deletes_are_a_small_share(con):
    for table in ("opportunity", "opportunity_history", "task", "event", "lead"):
        share = _scalar(con, f"select avg(case when is_deleted then 1.0 else 0 end) from {table}")
        assert 0 < share < 0.02, table


# ---------------------------------------------------------------- signal for the marts


def test_icp_deals_win_more_often_and_close_faster(con):
    rows = {
        icp: (win_rate, won_cycle, closed_cycle, n)
        for icp, win_rate, won_cycle, closed_cycle, n in con.execute("""
            select is_icp, avg(case when is_won then 1.0 else 0 end),
                   median(close_date - created_date::date) filter (where is_won),
                   median(close_date - created_date::date), count(*)
            from deals where is_closed group by 1
        """).fetchall()
    }
    (icp_rate, icp_won_cycle, icp_cycle, icp_n), (other_rate, other_won_cycle, other_cycle, other_n) = (
        rows[True],
        rows[False],
    )
    assert icp_n > 200 and other_n > 200
    assert icp_rate > other_rate + 0.1
    assert icp_won_cycle < other_won_cycle
    assert icp_cycle < other_cycle
    # every criterion misses on some deals, so ICP discovery has segments to compare
    assert _scalar(con, "select count(distinct industry) from deals") > 8
    assert (
        _scalar(
            con,
            "select count(*) filter (where number_of_employees < 50) * count(*) filter (where number_of_employees > 1000) from deals",
        )
        > 0
    )
    assert _scalar(con, "select count(*) from deals where trigger_event_c is null") > 0
    assert _scalar(con, "select count(distinct technical_fit_c) from deals") == 3


def test_history_has_regressions_pushes_and_amount_changes(con):
    regressions = _scalar(
        con,
        """
        select count(distinct h.opportunity_id) from hist h
        join stage_map cur on cur.stage_name = h.stage_name
        join stage_map prev on prev.stage_name = h.prev_stage
        where not cur.is_closed and cur.stage_order < prev.stage_order
    """,
    )
    assert regressions > 20
    pushed_twice = _scalar(
        con,
        """
        select count(*) from (
            select opportunity_id from hist group by 1
            having count(*) filter (where close_date > prev_close_date) >= 2)
    """,
    )
    assert pushed_twice > 50
    assert _scalar(con, "select count(*) from hist where prev_stage = stage_name") > 0  # push-only rows
    assert (
        _scalar(
            con,
            """
        select count(*) from (select opportunity_id, amount, lag(amount) over
            (partition by opportunity_id order by created_date) prev from opportunity_history)
        where amount <> prev""",
        )
        > 0
    )
    lost_from = _scalar(
        con,
        """
        select count(distinct prev_stage) from hist where stage_name = 'Closed Lost'""",
    )
    assert lost_from >= 5
    assert (
        _scalar(
            con,
            "select count(*) from hist h where h.prev_created_date is null "
            "and h.stage_name <> (select stage_name from stage_map order by stage_order limit 1)",
        )
        > 0
    )


def test_open_deals_have_the_hygiene_problems_the_marts_look_for(con):
    open_deals = "from opportunity where not is_closed and not is_deleted"
    assert _scalar(con, f"select count(*) {open_deals}") > 100
    assert _scalar(con, f"select count(*) {open_deals} and close_date < ?", [AS_OF]) > 10
    assert (
        _scalar(con, f"select count(*) {open_deals} and close_date between ? and ? + 7", [AS_OF, AS_OF]) > 5
    )
    assert (
        _scalar(con, f"select count(*) {open_deals} and close_date between ? + 8 and ? + 30", [AS_OF, AS_OF])
        > 5
    )
    assert _scalar(con, f"select count(*) {open_deals} and next_step is null") > 10
    vague = con.execute(f"select next_step {open_deals} and lower(next_step) in {VAGUE}").fetchall()
    assert len(vague) > 10 and len({v for (v,) in vague}) > 4  # in varied case
    for condition in (
        "next_step_date_c < ?",
        "next_step_date_c = ?",
        "next_step_date_c between ? + 1 and ? + 7",
        "next_step_date_c > ? + 7",
        "next_step_date_c is null",
    ):
        params = [AS_OF] * condition.count("?")
        assert _scalar(con, f"select count(*) {open_deals} and {condition}", params) > 0, condition


def test_some_open_deals_have_gone_quiet(con):
    holidays = [
        r[0]
        for r in duckdb.sql(
            f"select holiday_date from read_csv('{SEEDS / 'business_calendar_holidays.csv'}')"
        ).fetchall()
    ]
    rows = con.execute(
        """
        with interactions as (
            select what_id, coalesce(completed_date_time::date, activity_date) as day from task
            where status = 'Completed' and task_subtype in ('Call', 'Email') and not is_deleted
            union all
            select what_id, start_date_time::date from event where not is_deleted
        )
        select o.id, coalesce(max(i.day) filter (where i.day <= ?), min(o.created_date::date)) as since,
               max(h.created_date::date) as last_change
        from opportunity o
        left join interactions i on i.what_id = o.id
        left join opportunity_history h on h.opportunity_id = o.id
        where not o.is_closed and not o.is_deleted
        group by o.id
    """,
        [AS_OF],
    ).fetchall()
    since = np.array([r[1] for r in rows], dtype="datetime64[D]")
    as_of_next = np.datetime64(AS_OF + dt.timedelta(days=1))
    business_days = np.busday_count(since + 1, as_of_next, holidays=np.array(holidays, dtype="datetime64[D]"))
    inactive = (business_days >= 5).mean()
    assert 0.1 < inactive < 0.8  # a real share, but not the whole pipeline
    assert (business_days <= 1).sum() > 0
    optimism_hold = sum(
        1 for r in rows if r[1] <= AS_OF - dt.timedelta(days=14) and r[2] <= AS_OF - dt.timedelta(days=14)
    )
    assert optimism_hold > 10


def test_inbound_leads_arrive_today_and_on_the_previous_business_day(con):
    inbound = "('Inbound', 'Website', 'Content Download', 'Webinar')"
    for day in (AS_OF, dt.date(2026, 11, 20)):
        assert (
            _scalar(
                con,
                f"""select count(*) from lead where created_date::date = ? and not is_converted
                                and not is_deleted and lead_source in {inbound}""",
                [day],
            )
            >= 3
        )
    statuses = {s for (s,) in con.execute("select distinct status from lead").fetchall()}
    assert statuses == {
        "Open - Not Contacted",
        "Working - Contacted",
        "Closed - Converted",
        "Closed - Not Converted",
    }
    assert (
        _scalar(con, "select count(*) from lead where is_converted <> (status = 'Closed - Converted')") == 0
    )
    assert (
        _scalar(
            con,
            "select count(*) from lead where is_converted and (converted_date is null or converted_opportunity_id is null)",
        )
        == 0
    )


def test_users_teams_and_inactive_reps(con):
    teams = _scalar(con, "select count(distinct department) from \"user\" where title = 'Sales Manager'")
    assert 2 <= teams <= 4
    reps = 'select id from "user" where manager_id in (select id from "user" where title = \'Sales Manager\')'
    assert _scalar(con, f'select count(*) from "user" where is_active and id in ({reps})') == SCALE["reps"]
    inactive_owners = _scalar(
        con,
        f"""
        select count(distinct owner_id) from opportunity
        where owner_id in ({reps}) and owner_id in (select id from "user" where not is_active)""",
    )
    assert inactive_owners >= 1
    assert (
        _scalar(
            con,
            """select count(*) from opportunity o join "user" u on u.id = o.owner_id
                           where not u.is_active and not o.is_closed""",
        )
        == 0
    )
    assert _scalar(con, "select count(*) from opportunity where owner_id not in (" + reps + ")") == 0


def test_quotas_cover_every_active_rep_every_month(con):
    first_month = dt.date(2025, 5, 1)  # 18 months before 2026-11-23
    last_month = dt.date(2027, 5, 1)  # six months after the as-of month
    missing = _scalar(
        con,
        """
        with reps as (select id from "user" where is_active
                      and manager_id in (select id from "user" where title = 'Sales Manager')),
             months as (select unnest(generate_series(?::date, ?::date, interval 1 month))::date as m)
        select count(*) from reps cross join months
        where not exists (select 1 from forecasting_quota q where q.quota_owner_id = reps.id and q.start_date = months.m)
    """,
        [first_month, last_month],
    )
    assert missing == 0
    assert (
        _scalar(con, "select count(*) from forecasting_quota where day(start_date) <> 1 or quota_amount <= 0")
        == 0
    )
    assert (
        _scalar(
            con,
            """select count(*) from forecasting_quota where quota_owner_id in
                           (select id from "user" where title in ('Sales Manager', 'VP of Sales'))""",
        )
        == 0
    )
    attainment = [
        a
        for (a,) in con.execute(
            """
        with won as (select owner_id, date_trunc('month', close_date)::date m, sum(amount) amount
                     from opportunity where is_won and not is_deleted group by all)
        select sum(coalesce(won.amount, 0)) / sum(q.quota_amount)
        from forecasting_quota q left join won on won.owner_id = q.quota_owner_id and won.m = q.start_date
        join "user" u on u.id = q.quota_owner_id
        where u.is_active and q.start_date between ?::date + interval 4 month and ?::date - interval 1 month
        group by q.quota_owner_id
    """,
            [first_month, AS_OF.replace(day=1)],
        ).fetchall()
    ]
    assert len(attainment) == SCALE["reps"]
    # ATTAINMENT_RANGE 52-102%: most reps miss their number, a few beat it
    assert 0.6 < float(np.median(attainment)) < 1.0
    assert all(0.4 < a < 1.5 for a in attainment)


# ---------------------------------------------------------------- the story (docs/demo_data.md)
# Computed from the files alone, as a revenue leader would from the CRM: the state of each
# deal on a past day is its latest history row created on or before that day.

STATE_ON_DAY = """
    with days as (select unnest(?::date[]) as d),
    rows as (
        select days.d, h.opportunity_id, h.stage_name, h.amount, h.close_date, h.forecast_category,
               row_number() over (partition by days.d, h.opportunity_id order by h.created_date desc) as rn
        from days join opportunity_history h on h.created_date::date <= days.d and not h.is_deleted
    )
    select rows.* from rows join stage_map s using (stage_name) where rn = 1 and not s.is_closed
"""


def _month_starts(count: int) -> list[dt.date]:
    first = AS_OF.replace(day=1)
    return [
        dt.date(first.year + (first.month - 1 - k) // 12, (first.month - 1 - k) % 12 + 1, 1)
        for k in range(count, 0, -1)
    ]


def _period_end(start: dt.date, months: int) -> dt.date:
    y, m = divmod(start.month - 1 + months, 12)
    return dt.date(start.year + y, m + 1, 1) - dt.timedelta(days=1)


def _coverage_at_starts(con, starts: list[dt.date], months: int) -> list[float]:
    """Open amount with close_date in the period (and >= its first day) / the period's
    target, as the pipeline stood on the period's first day."""
    con.execute(f"create or replace temp table state as {STATE_ON_DAY}", [starts])
    ratios = []
    for start in starts:
        end = _period_end(start, months)
        open_amount = _scalar(
            con,
            "select sum(amount) from state where d = ? and close_date between ? and ?",
            [start, start, end],
        )
        target = _scalar(
            con,
            "select sum(quota_amount) from forecasting_quota where start_date between ? and ?",
            [start, end],
        )
        ratios.append(open_amount / target)
    return ratios


def test_coverage_at_the_start_of_each_period_is_near_the_healthy_band(con):
    """The pipeline a period starts with, over its target: about 2x at this scale (2.6x for
    December on `revops run --demo`), more in a quarter's last month, where close dates
    cluster; never the 4x+ that makes every call sound safe."""
    months = _coverage_at_starts(con, _month_starts(6), 1)
    quarters = _coverage_at_starts(con, [d for d in _month_starts(12) if d.month in (1, 4, 7, 10)], 3)
    assert 1.5 <= float(np.median(months)) <= 3.5, months
    assert 1.4 <= float(np.median(quarters)) <= 3.0, quarters
    assert all(1.0 <= r <= 4.5 for r in months + quarters), (months, quarters)


def test_slipped_deals_are_a_few_percent_of_the_open_pipeline(con):
    slipped, total = con.execute(
        "select sum(amount) filter (where close_date < ?), sum(amount) "
        "from opportunity where not is_closed and not is_deleted",
        [AS_OF],
    ).fetchone()
    assert 0.005 <= slipped / total <= 0.08, slipped / total


def _first_day_misses(con, starts: list[dt.date], months: int) -> list[float]:
    """(call - actual) / actual of each period: the call is closed won + commit + 40% of best
    case, from the forecast categories of its first day; actual what was won in it."""
    con.execute(f"create or replace temp table state as {STATE_ON_DAY}", [starts])
    misses = []
    for start in starts:
        end = _period_end(start, months)
        committed, best_case = con.execute(
            "select coalesce(sum(amount) filter (where forecast_category = 'Commit'), 0), "
            "coalesce(sum(amount) filter (where forecast_category = 'Best Case'), 0) "
            "from state where d = ? and close_date between ? and ?",
            [start, start, end],
        ).fetchone()
        won_first_day, actual = con.execute(
            "select coalesce(sum(amount) filter (where close_date = ?), 0), sum(amount) from opportunity "
            "where is_won and not is_deleted and close_date between ? and ?",
            [start, start, end],
        ).fetchone()
        misses.append((won_first_day + committed + 0.4 * best_case - actual) / actual)
    return misses


@pytest.mark.parametrize("months", [1, 3], ids=["months", "quarters"])
def test_first_day_calls_miss_the_actual_by_5_to_30_percent_both_ways(con, months):
    """The last 12 months' and the last 5 quarters' first-day calls (forecast_backtest's rules
    call, from the files): off by 5-30% on average, some over and some under; a quarter's
    last month, where close dates cluster, is over-called the most."""
    quarters = [d for d in _month_starts(15) if d.month in (1, 4, 7, 10)]
    starts = _month_starts(12) if months == 1 else quarters
    misses = _first_day_misses(con, starts, months)
    assert 0.05 <= float(np.mean(np.abs(misses))) <= 0.30, misses
    assert min(misses) < -0.05 and max(misses) > 0.05, misses  # both directions
    assert sum(abs(m) > 0.6 for m in misses) <= len(misses) // 4, misses


def test_forecast_categories_follow_the_close_quarter(con):
    """On a quarter's first day (after the kick-off review), a Validating Fit deal is Best Case
    when it is dated in the quarter and Pipeline when dated later; Commit and Best Case hold
    the deals of this quarter, and most of what the quarter then wins was in them."""
    starts = [d for d in _month_starts(12) if d.month in (1, 4, 7, 10)]
    con.execute(f"create or replace temp table state as {STATE_ON_DAY}", [starts])
    in_quarter, later, forecast_in_quarter = con.execute(
        """
        with s as (select *, (d + interval 3 month - interval 1 day)::date as quarter_end from state)
        select avg((forecast_category = 'Best Case')::int)
                   filter (where stage_name = 'Validating Fit' and close_date <= quarter_end),
               avg((forecast_category = 'Pipeline')::int)
                   filter (where stage_name = 'Validating Fit' and close_date > quarter_end),
               sum(amount) filter (where forecast_category in ('Commit', 'Best Case') and close_date <= quarter_end)
                   / sum(amount) filter (where forecast_category in ('Commit', 'Best Case'))
        from s
        """
    ).fetchone()
    assert in_quarter >= 0.95 and later >= 0.95, (in_quarter, later)
    assert forecast_in_quarter >= 0.7, forecast_in_quarter
    for start in starts:
        end = _period_end(start, 3)
        won_from_forecast = _scalar(
            con,
            "select sum(o.amount) filter (where st.forecast_category in ('Commit', 'Best Case') "
            "and st.close_date between ? and ?) / sum(o.amount) from opportunity o "
            "left join state st on st.opportunity_id = o.id and st.d = ? "
            "where o.is_won and not o.is_deleted and o.close_date between ? and ?",
            [start, end, start, start, end],
        )
        assert won_from_forecast >= 0.45, (start, won_from_forecast)


def test_close_dates_cluster_at_month_and_quarter_ends(con):
    """Reps date deals on the period's last day and buyers sign there: the hockey stick."""
    month_end, quarter_end = con.execute(
        "select avg((close_date = last_day(close_date))::int), "
        "avg((close_date = last_day(close_date) and month(close_date) % 3 = 0)::int) "
        "from opportunity where not is_closed and not is_deleted"
    ).fetchone()
    assert month_end >= 0.5 and quarter_end >= 0.3, (month_end, quarter_end)
    won_on_month_end = _scalar(
        con,
        "select avg((close_date = last_day(close_date))::int) from opportunity where is_won and not is_deleted",
    )
    assert 0.2 <= won_on_month_end <= 0.6, won_on_month_end


def _committed_share_of_target(con, as_of: dt.date) -> float:
    """DESIGN.md's committed (rules basis) for the month of `as_of` over the month's target:
    open deals with close_date in the month and >= as_of, a next step (not blank, not a
    vague phrase) dated within [as_of, as_of + 7]."""
    start = as_of.replace(day=1)
    end = _period_end(start, 1)
    committed = _scalar(
        con,
        "select coalesce(sum(amount), 0) from opportunity where not is_closed and not is_deleted "
        "and close_date between ? and ? and next_step_date_c between ? and ? + 7 "
        f"and trim(coalesce(next_step, '')) <> '' and lower(trim(next_step)) not in {VAGUE}",
        [as_of, end, as_of, as_of],
    )
    target = _scalar(
        con,
        "select sum(quota_amount) from forecasting_quota where start_date between ? and ?",
        [start, end],
    )
    return committed / target


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2026, 12, 1)], ids=["mid_month", "first_of_month"])
def test_committed_is_a_believable_share_of_the_month_target(con, tmp_path, as_of):
    """Only deals with a next step in the coming week count as committed: 20-80% of the
    month's target, on a later day of the month and on its first day with the parameters of
    `revops run --demo` (where the demo once committed more than the whole month's target)."""
    if as_of != AS_OF:
        generate_demo_data(tmp_path, as_of_date=as_of)  # the defaults: 5,000 deals, seed 42
        con = _connect(tmp_path)
    share = _committed_share_of_target(con, as_of)
    assert 0.15 <= share <= 0.8, (as_of, share)


def test_late_stage_deals_have_their_next_step_sooner(con):
    """Share of open deals with a concrete next step in the coming week, by forecast
    category: Commit-stage deals most, Pipeline-stage deals least; both have later ones."""
    rows = con.execute(
        "select forecast_category_name, "
        "avg(case when next_step_date_c between ? and ? + 7 "
        f"and lower(trim(next_step)) not in {VAGUE} then 1 else 0 end), "
        "avg(case when next_step_date_c > ? + 7 then 1 else 0 end) "
        "from opportunity where not is_closed and not is_deleted group by 1",
        [AS_OF, AS_OF, AS_OF],
    ).fetchall()
    week = {category: w for category, w, _ in rows}
    later = {category: lt for category, _, lt in rows}
    assert week["Commit"] > week["Best Case"] > week["Pipeline"], week
    assert week["Commit"] >= 0.25 and week["Pipeline"] <= 0.2, week
    assert later["Pipeline"] > later["Commit"] and later["Commit"] > 0, later


def test_crm_probability_is_worse_calibrated_than_stage_win_rates(con):
    """Brier score over the stage history of closed deals: the CRM's probability field
    (stage default + rep optimism) against each stage's own win rate."""
    crm, stage_rate, rows = con.execute("""
        with closed as (select id, is_won::int as won from opportunity where is_closed and not is_deleted),
        rows as (
            select h.stage_name, h.probability / 100.0 as crm, closed.won
            from opportunity_history h join closed on closed.id = h.opportunity_id
            join stage_map s on s.stage_name = h.stage_name
            where not s.is_closed and not h.is_deleted
        ),
        rates as (select stage_name, avg(won) as rate from rows group by 1)
        select avg((crm - won) ^ 2), avg((rate - won) ^ 2), count(*) from rows join rates using (stage_name)
    """).fetchone()
    assert rows > 1000
    assert crm > stage_rate + 0.005, (crm, stage_rate)
    spread = _scalar(
        con, "select count(distinct probability) from opportunity where stage_name = 'Validating Fit'"
    )
    assert spread >= 3  # reps differ in optimism


def test_marketing_spend_covers_every_month_and_every_lead_source(con):
    sources = {s for (s,) in con.execute("select distinct lead_source from opportunity").fetchall()}
    channels = {c for (c,) in con.execute("select distinct channel from marketing_spend").fetchall()}
    assert channels == sources
    first, last, months = con.execute(
        "select min(month), max(month), count(distinct month) from marketing_spend"
    ).fetchone()
    assert first == dt.date(2025, 5, 1) and last == AS_OF.replace(day=1) and months == 19
    assert _scalar(con, "select count(*) from marketing_spend where amount <= 0 or day(month) <> 1") == 0
    assert _scalar(con, "select count(*) - count(distinct (month, channel)) from marketing_spend") == 0
    # channels differ in cost: the dearest costs several times the cheapest per won deal
    per_channel = dict(
        con.execute("""
        select s.channel, sum(s.amount) / nullif(max(w.won), 0) from marketing_spend s
        left join (select lead_source, count(*) as won from opportunity
                   where is_won and type = 'New Business' group by 1) w on w.lead_source = s.channel
        group by 1
    """).fetchall()
    )
    assert max(per_channel.values()) > 3 * min(per_channel.values())


def test_subscriptions_follow_won_deals_with_expansion_contraction_and_churn(con):
    assert (
        _scalar(con, "select count(*) from subscription where account_id not in (select id from account)")
        == 0
    )
    assert (
        _scalar(con, "select count(*) from subscription where end_date < start_date or mrr_amount <= 0") == 0
    )
    assert _scalar(con, "select count(*) from subscription where start_date > ?", [AS_OF]) == 0
    # every won new-business deal starts a subscription on its close date, at amount / 12
    missing = _scalar(
        con,
        """
        select count(*) from opportunity o where o.is_won and not o.is_deleted and o.type = 'New Business'
        and not exists (select 1 from subscription s where s.account_id = o.account_id and s.start_date = o.close_date)
    """,
    )
    assert missing == 0
    churned = _scalar(
        con,
        """
        select count(*) from (select account_id from subscription group by 1
                              having count(*) filter (where end_date is null or end_date >= ?) = 0)
    """,
        [AS_OF],
    )
    contracted = _scalar(
        con,
        """
        select count(*) from subscription a join subscription b
          on a.account_id = b.account_id and b.start_date = a.end_date + 1 and b.mrr_amount < a.mrr_amount
    """,
    )
    expanded = _scalar(
        con,
        """
        select count(*) from (select account_id from subscription where end_date is null
                              group by 1 having count(*) >= 2)
    """,
    )
    customers = _scalar(con, "select count(distinct account_id) from subscription")
    assert customers > 100
    assert 0.03 < churned / customers < 0.4
    assert contracted > 5 and expanded > 5
