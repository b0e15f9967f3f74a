"""growth_metrics on real builds: CAC by channel and NRR on the demo, recomputed here from
the landing files alone, and a run whose source has no marketing spend and no
subscriptions (both not tracked), where CAC is unknown and NRR falls back to the deals."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest
from conftest import BuiltWarehouse, run_dbt

WINDOW_DAYS = 90  # growth_metrics_window_days' default


def _landing(con: duckdb.DuckDBPyConnection, folder) -> None:
    from revops.crm_contract import CRM_OBJECTS

    for name, obj in CRM_OBJECTS.items():
        path = folder / f"{name}.csv"
        if path.exists():
            types = ", ".join(f"'{c}': '{t}'" for c, t in obj.columns.items())
            con.execute(
                f"create table \"{name}\" as select * from read_csv('{path}', header = true, columns = {{{types}}})"
            )


def _rows(warehouse: BuiltWarehouse) -> dict[tuple[str, str], dict]:
    names = ["metric", "channel", "value", "numerator_value", "denominator_value", "basis", "status"]
    rows = warehouse.query(f"select {', '.join(names)}, unknown_reason from marts.growth_metrics")
    return {(r[0], r[1]): dict(zip([*names, "unknown_reason"], r, strict=True)) for r in rows}


def test_cac_and_nrr_on_the_demo_match_a_computation_from_the_files(demo_warehouse):
    as_of = demo_warehouse.as_of_date
    start = as_of - dt.timedelta(days=WINDOW_DAYS - 1)
    then = as_of.replace(year=as_of.year - 1)
    con = duckdb.connect()
    _landing(con, demo_warehouse.landing_dir)
    # spend: each month spread over its days, the days inside [start, as_of]
    spend = dict(
        con.execute(
            """
        select channel, sum(amount * (least(last_day(month), ?::date) - greatest(month, ?::date) + 1)
                             / (last_day(month) - month + 1))
        from marketing_spend where month <= ? and last_day(month) >= ? group by 1
    """,
            [as_of, start, as_of, start],
        ).fetchall()
    )
    won = dict(
        con.execute(
            """
        select lead_source, count(*) from opportunity
        where is_won and not is_deleted and type = 'New Business' and close_date between ? and ?
        group by 1
    """,
            [start, as_of],
        ).fetchall()
    )
    rows = _rows(demo_warehouse)
    channels = {c for m, c in rows if m == "cac" and c != "all"}
    assert channels == set(spend) | {c for c in won if c is not None}
    for channel in channels:
        row = rows[("cac", channel)]
        if spend.get(channel) and won.get(channel):
            assert row["value"] == pytest.approx(spend[channel] / won[channel], rel=1e-9), channel
            assert row["status"] in ("green", "yellow", "red")
        else:
            assert row["value"] is None and row["status"] == "unknown", channel
    everything = rows[("cac", "all")]
    assert everything["value"] == pytest.approx(sum(spend.values()) / sum(won.values()), rel=1e-9)
    assert everything["basis"] == "marketing_spend"

    def recurring(day: dt.date) -> dict[str, float]:
        return dict(
            con.execute(
                "select account_id, sum(mrr_amount) from subscription "
                "where start_date <= ? and (end_date is null or end_date >= ?) group by 1",
                [day, day],
            ).fetchall()
        )

    before, now = recurring(then), recurring(as_of)
    expected = sum(now.get(a, 0.0) for a in before) / sum(before.values())
    nrr = rows[("nrr", "all")]
    assert nrr["basis"] == "subscriptions"
    assert nrr["value"] == pytest.approx(expected, rel=1e-9)
    assert 0.7 < nrr["value"] < 1.4  # the demo's churn, contraction and expansion roughly balance
    # revops_health shows both for the company, with the same value and status
    health = {
        m: (v, s)
        for m, v, s in demo_warehouse.query(
            "select metric, value, status from marts.revops_health "
            "where metric in ('cac_amount', 'net_revenue_retention')"
        )
    }
    assert health["cac_amount"][0] == pytest.approx(everything["value"])
    assert health["net_revenue_retention"][0] == pytest.approx(nrr["value"])
    assert (health["cac_amount"][1], health["net_revenue_retention"][1]) == (
        everything["status"],
        nrr["status"],
    )


@pytest.fixture(scope="module")
def untracked(demo_landing_dir, tmp_path_factory) -> BuiltWarehouse:
    """The demo without marketing_spend and subscription files, ingested as a run does
    (empty tables, coverage saying not tracked) and built."""
    from conftest import DEMO_AS_OF_DATE

    from revops.sources import SourceConfig, ingest_source

    work = tmp_path_factory.mktemp("growth_untracked")
    landing = work / "landing"
    landing.mkdir()
    for path in demo_landing_dir.iterdir():
        if path.stem not in ("marketing_spend", "subscription"):
            shutil.copy(path, landing / path.name)
    warehouse_path = work / "build.duckdb"
    with duckdb.connect(str(warehouse_path)) as con:
        ingest_source(con, SourceConfig(kind="salesforce_files", landing_dir=landing))
    warehouse = BuiltWarehouse(landing, warehouse_path, work / "target", DEMO_AS_OF_DATE)
    run_dbt(
        [
            "build",
            "--select",
            "+revops_health",
            "+source_coverage",
            "--indirect-selection",
            "cautious",
            "--exclude-resource-type",
            "unit_test",
        ],
        warehouse_path=warehouse_path,
        target_path=warehouse.target_path,
        dbt_vars={"as_of_date": DEMO_AS_OF_DATE.isoformat()},
    )
    return warehouse


def test_without_spend_and_subscriptions_cac_is_unknown_and_nrr_comes_from_deals(untracked):
    coverage = untracked.query(
        "select object_name, bool_or(is_tracked), max(row_count) from marts.source_coverage "
        "where object_name in ('marketing_spend', 'subscription') group by 1"
    )
    assert sorted(coverage) == [("marketing_spend", False, 0), ("subscription", False, 0)]
    rows = _rows(untracked)
    cac = [r for (metric, _), r in rows.items() if metric == "cac"]
    assert ("cac", "all") in rows and len(cac) > 1
    for row in cac:
        assert row["value"] is None and row["status"] == "unknown" and row["basis"] is None
        assert row["unknown_reason"] == "marketing spend not tracked in the source"
    nrr = rows[("nrr", "all")]
    assert nrr["basis"] == "expansion_renewal_deals"
    assert nrr["value"] is not None and nrr["status"] in ("green", "yellow", "red")
    health = dict(
        untracked.query(
            "select metric, status from marts.revops_health where metric in ('cac_amount', 'net_revenue_retention')"
        )
    )
    assert health == {"cac_amount": "unknown", "net_revenue_retention": nrr["status"]}
