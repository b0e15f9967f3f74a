"""Time and memory of the quality gate at scale (not a test: run it by hand).

    .venv/bin/python tests/gate/bench_gate.py --deals 100000 --work /tmp/revops-bench
    .venv/bin/python tests/gate/bench_gate.py --work /tmp/revops-bench --marts   # after a dbt build there

Generates the demo CRM data as Parquet (once), loads it with the landing loader, then runs
the raw gate in a fresh process and reports wall time and peak resident memory (the
process's own maximum RSS, so imports are included; the baseline after imports is shown
too). With --marts it times a publish of the warehouse in --work, which must have been built
with dbt first (the marts' gate is their dbt tests, timed by dbt itself).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2026, 11, 23)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(layer: str, warehouse: Path, serve: Path) -> dict:
    """Runs in the child process."""
    sys.path.insert(0, str(ROOT))
    import duckdb
    import great_expectations  # noqa: F401  (import cost is reported separately)

    from revops.quality import GateReport, validate_raw_tables
    from revops.settings import Settings

    settings = Settings(
        landing_dir=warehouse.parent, warehouse_path=warehouse, as_of_date=AS_OF, serve_dir=serve
    )
    baseline_rss = _rss_mb()
    started = time.monotonic()
    report = validate_raw_tables(settings) if layer == "raw" else GateReport(layer="marts")
    seconds = time.monotonic() - started
    by_table: dict[str, float] = {}
    for outcome in report.outcomes:
        by_table[outcome.table] = by_table.get(outcome.table, 0) + outcome.seconds
    result = {
        "layer": layer,
        "checks": len(report.outcomes),
        "blocking_failures": [o.message for o in report.blocking_failures],
        "warnings": len(report.warnings),
        "seconds": round(seconds, 2),
        "seconds_by_table": {k: round(v, 2) for k, v in sorted(by_table.items(), key=lambda kv: -kv[1])},
        "rss_after_imports_mb": round(baseline_rss),
        "peak_rss_after_gate_mb": round(_rss_mb()),
    }
    if layer == "marts":
        from revops.publish import PublishRequest, publish_marts

        with duckdb.connect(str(warehouse), read_only=True) as con:
            marts = [
                row[0]
                for row in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'marts'"
                ).fetchall()
            ]
        started = time.monotonic()
        published = publish_marts(
            warehouse,
            serve,
            PublishRequest(run_id="bench", as_of_date=AS_OF, marts=marts),
        )
        result["publish_seconds"] = round(time.monotonic() - started, 2)
        result["mart_rows"] = published.mart_row_counts
        result["served_mb"] = round(published.served_path.stat().st_size / 1e6, 1)
        result["peak_rss_after_publish_mb"] = round(_rss_mb())
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--work", type=Path, default=Path("/tmp/revops-bench"))
    parser.add_argument("--marts", action="store_true")
    parser.add_argument("--child", choices=["raw", "marts"])
    args = parser.parse_args()
    warehouse = args.work / "build.duckdb"
    serve = args.work / "serve"
    if args.child:
        print(json.dumps(measure(args.child, warehouse, serve)))
        return 0

    sys.path.insert(0, str(ROOT))
    import duckdb

    from revops.landing import load_landing_folder
    from revops_demo import generate_demo_data

    landing = args.work / "landing"
    if not args.marts:
        if not landing.exists():
            counts = generate_demo_data(
                landing, deals=args.deals, reps=args.reps, as_of_date=AS_OF, file_format="parquet"
            )
            print("generated:", counts)
        started = time.monotonic()
        with duckdb.connect(str(warehouse)) as con:
            loaded = load_landing_folder(con, landing)
        print(f"loaded in {time.monotonic() - started:.1f} s:", {r.object_name: r.row_count for r in loaded})
    layer = "marts" if args.marts else "raw"
    child = subprocess.run(
        [sys.executable, __file__, "--work", str(args.work), "--child", layer],
        capture_output=True,
        text=True,
        check=True,
    )
    print(json.dumps(json.loads(child.stdout.strip().splitlines()[-1]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
