"""The benchmark's report: the targets of issue 16 judged from a tier's figures, on figures
written by hand (the benchmark itself runs in CI at tier S)."""

from __future__ import annotations

from bench.run_bench import StepFigure, TierResult, mean_daily_steps, render, targets


def _tier(tier: str, full: float, floor: float, daily: list[float], peak_mb: float = 900.0) -> TierResult:
    result = TierResult(tier, 100_000, 3_000_000, pipeline_seconds=full, floor_seconds=floor)
    result.steps = [
        StepFigure("ingest", 5.0, 800.0, 4_000_000),
        StepFigure("dbt build (models + tests)", full - 15.0, peak_mb),
        StepFigure("publish", 10.0, 700.0),
    ]
    for number, seconds in enumerate(daily, start=1):
        result.daily_runs.append(
            {
                "day": f"2026-11-2{number + 3}",
                "seconds": seconds,
                "peak_memory_mb": 600.0,
                "steps": [
                    {"step": "dbt build (models + tests)", "seconds": seconds - 4.0, "peak_memory_mb": 600.0},
                    {"step": "publish", "seconds": 4.0, "peak_memory_mb": 500.0},
                ],
            }
        )
    result.daily_seconds = sum(daily) / len(daily) if daily else 0.0
    result.dbt_nodes["daily-1"] = {
        "models": {"pipeline_hygiene_weekly": 5.5, "int_deal_interactions": 4.0, "dim_reps": 0.1},
        "data_tests": 253,
        "data_test_seconds": 22.0,
    }
    result.daily_equals_full = True
    return result


def test_the_targets_of_a_tier_say_met_or_missed_and_what_holds_a_missed_one():
    found = {t["target"]: t for t in targets(_tier("M", 168.7, 45.4, [81.7, 80.7]))}
    daily = found["daily run <= 15% of the full run"]
    assert not daily["met"] and daily["measured"] == "48%: 81.2 of 168.7 s"
    # the largest daily step, and for the dbt build its slowest models and the tests
    assert daily["held_by"] == (
        "dbt build (models + tests) (77.2 s): pipeline_hygiene_weekly 5.5 s, int_deal_interactions 4.0 s, "
        "dim_reps 0.1 s, data tests 22.0 s summed"
    )
    assert not found["full run <= 2.0x the floor"]["met"]
    assert set(found) == {"daily run <= 15% of the full run", "full run <= 2.0x the floor"}

    met = {t["target"]: t["met"] for t in targets(_tier("M", 100.0, 60.0, [15.0]))}
    assert met == {"daily run <= 15% of the full run": True, "full run <= 2.0x the floor": True}


def test_tier_s_has_its_seconds_target_and_tier_l_its_memory_target():
    (s_target,) = targets(_tier("S", 59.5, 4.7, [51.1]))
    assert s_target["target"] == "full run <= 15 s" and not s_target["met"]
    l_targets = {t["target"]: t for t in targets(_tier("L", 300.0, 200.0, [40.0], peak_mb=9_000.0))}
    memory = l_targets["peak memory within 8 GiB"]
    assert not memory["met"] and memory["measured"].startswith("8.8 GiB")
    assert l_targets["full run <= 1.5x the floor"]["met"]  # 1.5x exactly
    assert l_targets["daily run <= 15% of the full run"]["met"]


def test_the_report_shows_the_daily_steps_beside_the_full_ones_and_unknown_without_a_daily_run():
    result = _tier("M", 168.7, 45.4, [81.7, 80.7])
    result.targets = targets(result)
    assert mean_daily_steps(result)["publish"].seconds == 4.0
    text = render([result])
    assert "| publish | 10.0 | 6% | 700 |  | 4.0 | 5% | 500 |" in text
    assert "- daily run <= 15% of the full run: **missed** (48%: 81.2 of 168.7 s)" in text
    no_daily = _tier("M", 168.7, 45.4, [])
    no_daily.daily_equals_full = None
    assert "unknown (no daily run)" in render([no_daily])


def test_the_staging_comparison_counts_rows_by_their_hash_duplicates_included(tmp_path):
    import duckdb

    from bench.compare import compare_staging

    rows = {
        "daily": "(1, 'a', 10.0, 'x'), (2, 'b', 20.0, 'x'), (2, 'b', 20.0, 'x'), (3, 'c', 30.0, 'x')",
        "full": "(1, 'a', 10.0, 'y'), (2, 'b', 20.0, 'y'), (3, 'c', 31.0, 'y')",
    }
    for name, values in rows.items():
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as con:
            con.execute("create schema staging")
            con.execute(
                f"create table staging.t as select * from (values {values}) v(id, name, amount, _loaded_at)"
            )
    found = compare_staging(
        tmp_path / "daily.duckdb", tmp_path / "full.duckdb", tables=("t",), ignore=("_loaded_at",)
    )
    # the second (2, b) and the changed amount of 3 only in the daily one; 3's other amount only in the full one
    assert found == {"t": "2 rows only in the daily sequence, 1 only in the full rebuild"}
    same = compare_staging(
        tmp_path / "full.duckdb", tmp_path / "full.duckdb", tables=("t",), ignore=("_loaded_at",)
    )
    assert same == {"t": ""}
