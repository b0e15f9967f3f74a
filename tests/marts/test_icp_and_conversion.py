"""ICP fit, ICP discovery segments, stage conversion rates and deal probabilities on the
demo warehouse, recomputed in Python straight from the staging views and the seeds.

The recomputation follows DESIGN.md independently of the SQL: the stage of a deal on
as_of_date is its latest history row created on or before that day (the current stage
when there is none); a deal counts for an open stage's conversion rate when it was ever
in that stage and is closed on as_of_date with close_date in (as_of - 90, as_of].
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import pytest
import yaml
from conftest import DBT_PROJECT_DIR, PROJECT_ROOT

TOLERANCE = 1e-9


def _project_vars() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def _minus_months(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate_day in (day.day, 30, 29, 28):  # clamp to the month's last day
        try:
            return dt.date(year, month, candidate_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class DealOnAsOf:
    opportunity_id: str
    created_date: dt.date
    stage_name: str
    close_date: dt.date | None
    amount: float | None
    lead_source: str | None
    stages_ever_in: frozenset[str]


@pytest.fixture(scope="module")
def stage_map(demo_warehouse) -> dict[str, dict]:
    rows = demo_warehouse.query(
        "select stage_name, stage_order, is_closed, is_won, default_probability from reference.stage_map"
    )
    return {
        name: {"order": order, "is_closed": closed, "is_won": won, "default": default}
        for name, order, closed, won, default in rows
    }


@pytest.fixture(scope="module")
def deals_on_as_of(demo_warehouse) -> dict[str, DealOnAsOf]:
    """Every deal created on or before as_of_date, in its state on that day."""
    as_of = demo_warehouse.as_of_date
    opportunities = demo_warehouse.query(
        "select opportunity_id, created_date, stage_name, close_date, amount, lead_source "
        "from staging.stg_salesforce__opportunities"
    )
    history = demo_warehouse.query(
        "select opportunity_id, opportunity_history_id, created_at, created_date, stage_name, "
        "close_date, amount from staging.stg_salesforce__opportunity_history"
    )
    known: dict[str, list[tuple]] = defaultdict(list)
    has_later_history: set[str] = set()
    for opp_id, hist_id, created_at, created_date, stage, close_date, amount in history:
        if created_date <= as_of:
            known[opp_id].append((created_at, hist_id, stage, close_date, amount))
        else:
            has_later_history.add(opp_id)
    deals = {}
    for opp_id, created_date, stage, close_date, amount, lead_source in opportunities:
        if created_date > as_of:
            continue
        rows = sorted(known.get(opp_id, []))
        if rows:
            stage = rows[-1][2]
            if opp_id in has_later_history:
                close_date, amount = rows[-1][3], rows[-1][4]
        deals[opp_id] = DealOnAsOf(
            opportunity_id=opp_id,
            created_date=created_date,
            stage_name=stage,
            close_date=close_date,
            amount=amount,
            lead_source=lead_source,
            stages_ever_in=frozenset({row[2] for row in rows} | {stage}),
        )
    return deals


def _closed_in_window(deals, stage_map, as_of: dt.date, window_start: dt.date):
    """Deals whose stage on as_of is closed, with close_date in (window_start, as_of]."""
    return [
        deal
        for deal in deals.values()
        if stage_map[deal.stage_name]["is_closed"]
        and deal.close_date is not None
        and window_start < deal.close_date <= as_of
    ]


def _icp_rules() -> list[dict]:
    with open(PROJECT_ROOT / "seeds" / "icp_rules.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _expected_icp_fit(industry, employees, trigger_event, technical_fit, rules) -> dict:
    """The four criteria as DESIGN.md states them, from the seed's rules."""

    def values(criterion, rule_type):
        return [
            (r["rule_value"] or "").strip()
            for r in rules
            if r["criterion"].strip() == criterion and r["rule_type"].strip() == rule_type
        ]

    industries = {v.lower() for v in values("industry", "in_list")}
    minimums = [float(v) for v in values("company_size", "min_employees")]
    maximums = [float(v) for v in values("company_size", "max_employees")]
    fits = {v.lower() for v in values("technical_fit", "equals")}
    flags = {
        "is_industry_fit": not industries or (industry or "").strip().lower() in industries,
        "is_company_size_fit": (not minimums and not maximums)
        or (
            employees is not None
            and all(employees >= m for m in minimums)
            and all(employees <= m for m in maximums)
        ),
        "is_trigger_event_fit": not values("trigger_event", "not_blank")
        or bool((trigger_event or "").strip()),
        "is_technical_fit": not fits or (technical_fit or "").strip().lower() in fits,
    }
    flags["criteria_met_count"] = sum(flags.values())
    flags["is_icp"] = flags["criteria_met_count"] == 4
    return flags


def test_icp_fit_follows_the_seed_rules(demo_warehouse):
    rules = _icp_rules()
    source = demo_warehouse.query(
        "select o.opportunity_id, a.industry, a.employee_count, o.trigger_event, o.technical_fit "
        "from staging.stg_salesforce__opportunities as o "
        "left join staging.stg_salesforce__accounts as a on o.account_id = a.account_id"
    )
    mart = {
        row[0]: dict(
            zip(
                [
                    "is_industry_fit",
                    "is_company_size_fit",
                    "is_trigger_event_fit",
                    "is_technical_fit",
                    "criteria_met_count",
                    "is_icp",
                ],
                row[1:],
                strict=False,
            )
        )
        for row in demo_warehouse.query(
            "select opportunity_id, is_industry_fit, is_company_size_fit, is_trigger_event_fit, "
            "is_technical_fit, criteria_met_count, is_icp from marts.icp_fit"
        )
    }
    assert set(mart) == {row[0] for row in source}, "icp_fit must have one row per deal"
    mismatches = [
        (opp_id, expected, mart[opp_id])
        for opp_id, industry, employees, trigger, fit in source
        if (expected := _expected_icp_fit(industry, employees, trigger, fit, rules)) != mart[opp_id]
    ]
    assert not mismatches, f"{len(mismatches)} deals differ, e.g. {mismatches[:3]}"
    # the demo data has both kinds of deal
    assert {row["is_icp"] for row in mart.values()} == {True, False}


def test_stage_conversion_rates_all_segment_recomputed(demo_warehouse, deals_on_as_of, stage_map):
    settings = _project_vars()
    k = float(settings["calibration_k"])
    as_of = demo_warehouse.as_of_date
    window_start = as_of - dt.timedelta(days=int(settings["conversion_window_days"]))
    closed = _closed_in_window(deals_on_as_of, stage_map, as_of, window_start)

    expected = {}
    for stage, info in stage_map.items():
        if info["is_closed"]:
            continue
        counted = [deal for deal in closed if stage in deal.stages_ever_in]
        won = sum(1 for deal in counted if stage_map[deal.stage_name]["is_won"])
        n = len(counted)
        expected[stage] = {
            "deal_count": n,
            "won_count": won,
            "lost_count": n - won,
            "raw_rate": won / n if n else None,
            "default_probability": info["default"],
            "calibrated_probability": (won + k * info["default"]) / (n + k),
        }

    rows = demo_warehouse.query(
        "select stage_name, deal_count, won_count, lost_count, raw_rate, default_probability, "
        "calibrated_probability, as_of_date from marts.stage_conversion_rates where segment = 'all'"
    )
    actual = {
        stage: dict(
            zip(
                [
                    "deal_count",
                    "won_count",
                    "lost_count",
                    "raw_rate",
                    "default_probability",
                    "calibrated_probability",
                ],
                values[:-1],
                strict=False,
            )
        )
        for stage, *values in rows
    }
    assert {row[-1] for row in rows} == {as_of}
    assert set(actual) == set(expected), "one 'all' row per open stage of the stage map"
    for stage, want in expected.items():
        got = actual[stage]
        for column in ("deal_count", "won_count", "lost_count"):
            assert got[column] == want[column], (stage, column, got, want)
        for column in ("raw_rate", "default_probability", "calibrated_probability"):
            if want[column] is None:
                assert got[column] is None, (stage, column, got)
            else:
                assert got[column] == pytest.approx(want[column], abs=TOLERANCE), (stage, column)
    # the demo data has enough recent closed deals for the rates to mean something
    assert sum(want["deal_count"] for want in expected.values()) > 0


def test_every_open_stage_has_every_segment(demo_warehouse, stage_map):
    open_stages = {name for name, info in stage_map.items() if not info["is_closed"]}
    rows = demo_warehouse.query("select stage_name, segment from marts.stage_conversion_rates")
    by_segment: dict[str, set[str]] = defaultdict(set)
    for stage, segment in rows:
        by_segment[segment].add(stage)
    for segment in ("all", "icp", "non_icp"):
        assert by_segment[segment] == open_stages, segment
    lead_source_segments = [s for s in by_segment if s.startswith("lead_source:")]
    assert lead_source_segments, "the demo deals have lead sources"
    assert all(by_segment[s] == open_stages for s in lead_source_segments)
    # icp + non_icp split 'all'
    counts = {
        (stage, segment): n
        for stage, segment, n in demo_warehouse.query(
            "select stage_name, segment, deal_count from marts.stage_conversion_rates"
        )
    }
    for stage in open_stages:
        assert counts[(stage, "icp")] + counts[(stage, "non_icp")] == counts[(stage, "all")]
        assert sum(counts[(stage, s)] for s in lead_source_segments) == counts[(stage, "all")]


def test_icp_segments_count_the_closed_deals_of_the_discovery_window(
    demo_warehouse, deals_on_as_of, stage_map
):
    as_of = demo_warehouse.as_of_date
    window_start = _minus_months(as_of, int(_project_vars()["icp_discovery_window_months"]))
    closed = _closed_in_window(deals_on_as_of, stage_map, as_of, window_start)
    won = sum(1 for deal in closed if stage_map[deal.stage_name]["is_won"])
    totals = demo_warehouse.query(
        "select segment_type, sum(deal_count), sum(won_count), count(*), "
        "count(distinct rank), min(rank), max(rank) "
        "from marts.icp_segments group by segment_type"
    )
    assert {row[0] for row in totals} == {"company_size", "industry", "deal_size", "cycle_length", "icp"}
    for segment_type, deal_count, won_count, segments, distinct_ranks, low, high in totals:
        assert (deal_count, won_count) == (len(closed), won), segment_type
        assert (distinct_ranks, low, high) == (segments, 1, segments), segment_type


def test_icp_deals_win_more_often_than_non_icp(demo_warehouse):
    """The signal the demo data is made with: ICP deals win more often."""
    rates = dict(
        demo_warehouse.query(
            "select segment_value, win_rate from marts.icp_segments where segment_type = 'icp'"
        )
    )
    assert rates["icp"] > rates["non_icp"]
    icp_rate, non_icp_rate, factor = demo_warehouse.query(
        "select icp_win_rate, non_icp_win_rate, non_icp_adjustment_factor from intermediate.int_icp_win_rates"
    )[0]
    assert icp_rate > non_icp_rate
    assert factor == pytest.approx(non_icp_rate / icp_rate)
    assert 0 < factor < 1


def test_probabilities_are_shares_and_weight_the_open_deals(demo_warehouse, deals_on_as_of, stage_map):
    bad_rates = demo_warehouse.scalar(
        "select count(*) from marts.stage_conversion_rates "
        "where raw_rate not between 0 and 1 or calibrated_probability not between 0 and 1 "
        "or default_probability not between 0 and 1 or calibrated_probability is null"
    )
    assert bad_rates == 0
    rows = demo_warehouse.query(
        "select opportunity_id, is_icp, calibrated_probability, icp_adjustment_factor, "
        "adjusted_probability, amount, weighted_amount from intermediate.int_deal_probabilities"
    )
    open_deals = {
        d.opportunity_id for d in deals_on_as_of.values() if not stage_map[d.stage_name]["is_closed"]
    }
    assert {row[0] for row in rows} == open_deals
    for _, is_icp, calibrated, factor, adjusted, amount, weighted in rows:
        assert 0 <= calibrated <= 1 and 0 <= adjusted <= 1
        assert adjusted == pytest.approx(min(1.0, calibrated * factor))
        if is_icp:
            assert factor == 1
        if amount is not None:
            assert weighted == pytest.approx(amount * adjusted)
