"""Benchmark the whole pipeline - generate, ingest, gate, dbt build, publish - at a tier.

    python -m bench.run_bench --tiers S M        # what `make bench` runs
    python -m bench.run_bench --tiers L          # 1M deals, ~30M activities (long)

For each tier it runs, in a fresh work folder:
1. the demo generator (Parquet), as its own process;
2. the full pipeline (`revops run`) as its own process, sampling the memory of the
   whole process tree (dbt runs as a child of Dagster) every 0.2 s; each Dagster step's
   start and end come from the run's event log, so the report gives seconds and peak
   memory per step;
3. the floor: the compiled SQL of every dbt model executed directly, in dependency
   order, in one DuckDB connection on the same raw data (no dbt, no Dagster, no checks);
4. N daily increments on top (`--days`, default 3): each writes the next day of CRM
   changes into the landing folder (`revops_demo.increment`, `--increment-mode` changes or
   full) and runs the pipeline for that day; `daily_seconds` is their mean;
5. the check: a copy of the warehouse after the last day is rebuilt from the same final
   landing files (`revops run --full-refresh`: raw reloaded from every file, incremental
   models rebuilt; the dbt snapshot, history no file holds, kept) and every mart of the
   daily sequence must equal the rebuild's, row for row (`bench.compare`):
   `daily_equals_full`.
It writes `bench-results/report.md` (the table the README quotes) and `report.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_ROOT / "bench-results"
AS_OF_DATE = dt.date(2026, 11, 23)
# dbt's DuckDB memory limit (it spills to REVOPS_DUCKDB_TEMP_DIR beyond it): 6 GB leaves
# room for Python, Dagster and dbt themselves within the 8 GiB target of tier L
MEMORY_LIMIT = "6GB"

TIERS = {
    "S": {"deals": 5_000, "reps": 20, "months": 24},
    "M": {"deals": 100_000, "reps": 200, "months": 24},
    "L": {"deals": 1_000_000, "reps": 1_000, "months": 24},
}


@dataclass
class StepFigure:
    step: str
    seconds: float
    peak_memory_mb: float
    rows: int | None = None

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds else None


@dataclass
class TierResult:
    tier: str
    deals: int
    activities: int
    steps: list[StepFigure] = field(default_factory=list)
    pipeline_seconds: float = 0.0
    floor_seconds: float = 0.0
    incremental_seconds: float = 0.0  # the first daily run (kept from earlier reports)
    daily_seconds: float = 0.0  # the mean of the daily runs
    daily_runs: list[dict] = field(default_factory=list)
    increment_mode: str = "changes"
    full_refresh_seconds: float = 0.0
    daily_equals_full: bool | None = None
    mart_differences: dict[str, str] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    # dbt's own seconds per node of the full build and of each daily run (`dbt_node_seconds`)
    dbt_nodes: dict[str, dict] = field(default_factory=dict)
    served_file_mb: float = 0.0  # the served DuckDB file after the full run (each daily run: its own)
    served_equals_build: bool | None = None  # the served file after the daily publishes = the built marts
    served_differences: dict[str, str] = field(default_factory=dict)
    targets: list[dict] = field(default_factory=list)
    # the machine's 1-minute load average at the start and the end of the tier (other work on it)
    load_average: tuple[float, float] = (0.0, 0.0)  # `targets`: each of the tier's, met or missed


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (from /proc)."""
    total_kb = 0
    pending = [pid]
    seen = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
            children_path = Path(f"/proc/{current}/task/{current}/children")
            if children_path.exists():
                pending.extend(int(c) for c in children_path.read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total_kb / 1024


def run_sampled(
    command: list[str], env: dict[str, str], log_path: Path
) -> tuple[float, list[tuple[float, float]]]:
    """Run a command, sampling its process tree's memory; return (seconds, samples)."""
    samples: list[tuple[float, float]] = []
    started = time.time()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((time.time(), _tree_rss_mb(process.pid)))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    if code != 0:
        tail = log_path.read_text()[-3000:]
        raise SystemExit(f"benchmark step failed: {' '.join(command)}\n{tail}")
    return time.time() - started, samples


def _peak(samples: list[tuple[float, float]], start: float, end: float) -> float:
    inside = [mb for at, mb in samples if start <= at <= end]
    return max(inside) if inside else 0.0


def _ask_dagster(env: dict[str, str], body: str) -> Any:
    """What `body` (Python with `instance`, the bench's Dagster instance, printing one JSON line)
    prints, parsed: asked in a child process with the bench's environment."""
    code = "import json, dagster as dg\nwith dg.DagsterInstance.get() as instance:\n" + body
    output = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _step_windows(env: dict[str, str]) -> list[tuple[str, float, float]]:
    """(step key, start, end) of every step of the newest run in the bench's Dagster instance."""
    body = (
        "    run = instance.get_runs(limit=1)[0]\n"
        "    stats = instance.get_run_step_stats(run.run_id)\n"
        "    print(json.dumps([(s.step_key, s.start_time, s.end_time) for s in stats]))\n"
    )
    return [tuple(item) for item in _ask_dagster(env, body)]


def run_steps(
    env: dict[str, str], seconds: float, samples: list[tuple[float, float]], rows: int | None
) -> list[StepFigure]:
    """The newest run's seconds and peak memory per step (ingest, gate, dbt build, publish), and
    the rest of its wall clock as start-up and orchestration."""
    grouped: dict[str, list[tuple[float, float]]] = {}
    for step_key, start, end in _step_windows(env):
        if start and end:
            grouped.setdefault(_group(step_key), []).append((start, end))
    steps = []
    for name, windows in grouped.items():
        step_seconds = sum(end - start for start, end in windows)
        peak = max(_peak(samples, start, end) for start, end in windows)
        steps.append(StepFigure(name, step_seconds, peak, rows if name == "ingest" else None))
    accounted = sum(step.seconds for step in steps)
    steps.append(
        StepFigure(
            "start-up and orchestration",
            max(seconds - accounted, 0.0),
            max((mb for _, mb in samples), default=0),
        )
    )
    return steps


def _served_file_mb(env: dict[str, str]) -> float:
    served = Path(env["REVOPS_SERVE_DIR"]) / "revops.duckdb"
    return round(served.stat().st_size / 2**20, 1) if served.exists() else 0.0


def _publish_metadata(env: dict[str, str]) -> dict:
    """What the newest publish says it wrote (`written`: the marts kept, the months written) and
    its seconds, from the bench's Dagster instance."""
    body = (
        "    event = instance.get_latest_materialization_event(dg.AssetKey('published_marts'))\n"
        "    meta = event.asset_materialization.metadata if event and event.asset_materialization else {}\n"
        "    print(json.dumps({k: meta[k].value for k in ('written', 'seconds', 'published') if k in meta}))\n"
    )
    return dict(_ask_dagster(env, body))


def _group(step_key: str) -> str:
    if step_key.startswith("raw__") or "ingest" in step_key:
        return "ingest"
    if "quality" in step_key or "check" in step_key or "gate" in step_key:
        return "gate"
    if "dbt" in step_key:
        return "dbt build (models + tests)"
    if "publish" in step_key:
        return "publish"
    return step_key


def _latest_invocation(target_path: Path) -> Path:
    # dagster-dbt gives each invocation its own folder under DBT_TARGET_PATH
    return max(target_path.rglob("run_results.json"), key=lambda p: p.stat().st_mtime).parent


def dbt_node_seconds(target_path: Path) -> dict:
    """dbt's seconds per model of the latest build (run_results.json: the model's own
    execution, hooks included), and the data tests' count and summed seconds (they run on
    several threads, so the sum is more than their share of the wall clock)."""
    results = json.loads((_latest_invocation(target_path) / "run_results.json").read_text())["results"]
    models = {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
        for r in results
        if r["unique_id"].startswith(("model.", "snapshot."))
    }
    tests = [r["execution_time"] for r in results if r["unique_id"].startswith("test.")]
    return {"models": models, "data_tests": len(tests), "data_test_seconds": round(sum(tests), 2)}


def floor_seconds(warehouse_path: Path, target_path: Path, work: Path) -> float:
    """Run the compiled SQL of every model in one DuckDB connection, in DAG order."""
    invocation = _latest_invocation(target_path)
    manifest = json.loads((invocation / "manifest.json").read_text())
    results = json.loads((invocation / "run_results.json").read_text())
    compiled = {
        r["unique_id"]: r.get("compiled_code")
        for r in results["results"]
        if r["unique_id"].startswith("model.") and r.get("compiled_code")
    }
    nodes = manifest["nodes"]
    order: list[str] = []
    visiting: set[str] = set()

    def visit(node_id: str) -> None:
        if node_id in order or node_id not in compiled or node_id in visiting:
            return
        visiting.add(node_id)
        for parent in nodes[node_id]["depends_on"]["nodes"]:
            visit(parent)
        order.append(node_id)

    for node_id in compiled:
        visit(node_id)

    # the floor starts from the same raw tables, seeds and snapshot as dbt did
    floor_path = work / "floor" / warehouse_path.name
    floor_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(warehouse_path, floor_path)
    with duckdb.connect(
        str(floor_path), config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(work / "spill")}
    ) as con:
        existing = {
            (schema, name): kind
            for schema, name, kind in con.execute(
                "select table_schema, table_name, table_type from information_schema.tables"
            ).fetchall()
        }
        for node_id in reversed(order):
            node = nodes[node_id]
            kind = existing.get((node["schema"], node["alias"]))
            if kind:
                what = "view" if kind == "VIEW" else "table"
                con.execute(f'drop {what} "{node["schema"]}"."{node["alias"]}"')
        started = time.time()
        for node_id in order:
            node = nodes[node_id]
            con.execute(f'create schema if not exists "{node["schema"]}"')
            con.execute(f'create table "{node["schema"]}"."{node["alias"]}" as {compiled[node_id]}')
        return time.time() - started


def daily_increments(
    result: TierResult, env: dict[str, str], work: Path, landing: Path, days: int, mode: str
) -> None:
    """`days` daily increments on the built warehouse, then the incremental-equals-full check."""
    from bench.compare import INCREMENTAL_INTERMEDIATE, compare_marts, compare_staging
    from revops_demo.increment import write_next_day

    revops = str(Path(sys.executable).parent / "revops")
    result.increment_mode = mode
    day = AS_OF_DATE
    for number in range(1, days + 1):
        day = AS_OF_DATE + dt.timedelta(days=number)
        print(f"[{result.tier}] daily increment {number}/{days}: {day} ({mode})", flush=True)
        started = time.time()
        written = write_next_day(landing, day, mode=mode, seed=number)
        write_seconds = time.time() - started
        seconds, samples = run_sampled(
            [revops, "run"], {**env, "REVOPS_AS_OF_DATE": day.isoformat()}, work / f"daily-{number}.log"
        )
        result.dbt_nodes[f"daily-{number}"] = dbt_node_seconds(Path(env["DBT_TARGET_PATH"]))
        result.daily_runs.append(
            {
                "day": day.isoformat(),
                "seconds": round(seconds, 2),
                "peak_memory_mb": round(max((mb for _, mb in samples), default=0), 1),
                "write_seconds": round(write_seconds, 2),
                "rows_written": written,
                "steps": [asdict(step) for step in run_steps(env, seconds, samples, None)],
                "publish": _publish_metadata(env),
                "served_file_mb": _served_file_mb(env),
            }
        )
    if result.daily_runs:
        result.incremental_seconds = result.daily_runs[0]["seconds"]
        result.daily_seconds = sum(r["seconds"] for r in result.daily_runs) / len(result.daily_runs)
    warehouse = Path(env["REVOPS_WAREHOUSE_PATH"])
    # the served file the daily publishes patched (only what changed written) holds what was built
    served = compare_marts(Path(env["REVOPS_SERVE_DIR"]) / "revops.duckdb", warehouse)
    result.served_differences = {mart: text for mart, text in served.items() if text}
    result.served_equals_build = bool(served) and not result.served_differences
    daily_copy = work / "daily-final.duckdb"
    shutil.copy(warehouse, daily_copy)
    print(f"[{result.tier}] full rebuild of the same final inputs (--full-refresh, {day})", flush=True)
    result.full_refresh_seconds, _ = run_sampled(
        [revops, "run", "--full-refresh"], {**env, "REVOPS_AS_OF_DATE": day.isoformat()}, work / "rebuild.log"
    )
    differences = compare_marts(daily_copy, warehouse)
    # the incremental staging tables too (without `_loaded_at`: a rebuild reloads every row)
    differences.update({f"staging.{t}": text for t, text in compare_staging(daily_copy, warehouse).items()})
    # ... and the incremental intermediate models (every column)
    intermediate = compare_staging(
        daily_copy, warehouse, tables=INCREMENTAL_INTERMEDIATE, schema="intermediate", ignore=()
    )
    differences.update({f"intermediate.{t}": text for t, text in intermediate.items()})
    result.mart_differences = {mart: text for mart, text in differences.items() if text}
    result.daily_equals_full = bool(differences) and not result.mart_differences


def bench_tier(tier: str, keep: bool, days: int = 3, mode: str = "changes") -> TierResult:
    scale = TIERS[tier]
    load_at_start = os.getloadavg()[0]
    work = RESULTS_DIR / f"work-{tier}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    landing, serve, storage = work / "landing", work / "serve", work / "dagster"
    warehouse = work / "warehouse" / "build.duckdb"
    target = work / "dbt-target"
    env = {
        **os.environ,
        "REVOPS_LANDING_DIR": str(landing),
        "REVOPS_WAREHOUSE_PATH": str(warehouse),
        "REVOPS_SERVE_DIR": str(serve),
        "REVOPS_AS_OF_DATE": AS_OF_DATE.isoformat(),
        "DAGSTER_HOME": str(PROJECT_ROOT),
        "REVOPS_DAGSTER_STORAGE_DIR": str(storage),
        "REVOPS_DAGSTER_COMPUTE_LOGS_DIR": str(storage / "logs"),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(work / "dbt-logs"),
        "REVOPS_DUCKDB_MEMORY_LIMIT": os.environ.get("REVOPS_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT),
        "REVOPS_DUCKDB_TEMP_DIR": str(work / "spill"),
        "REVOPS_ALERT_WEBHOOK_URL": "",
    }
    revops = str(Path(sys.executable).parent / "revops")
    print(f"[{tier}] generating {scale['deals']:,} deals", flush=True)
    seconds, samples = run_sampled(
        [
            sys.executable,
            "-m",
            "revops_demo",
            "--out",
            str(landing),
            "--deals",
            str(scale["deals"]),
            "--reps",
            str(scale["reps"]),
            "--months",
            str(scale["months"]),
            "--as-of",
            AS_OF_DATE.isoformat(),
            "--format",
            "parquet",
        ],
        env,
        work / "generate.log",
    )
    with duckdb.connect() as con:
        counts = {
            name: con.execute(f"select count(*) from read_parquet('{landing / name}.parquet')").fetchone()[0]
            for name in ["opportunity", "opportunity_history", "task", "event", "lead"]
        }
    result = TierResult(tier, scale["deals"], counts["task"] + counts["event"], row_counts=counts)
    total_rows = sum(counts.values())
    result.steps.append(
        StepFigure("generate", seconds, max((mb for _, mb in samples), default=0), total_rows)
    )

    print(f"[{tier}] full pipeline: ingest, gate, dbt build, publish", flush=True)
    seconds, samples = run_sampled([revops, "run"], env, work / "pipeline.log")
    result.pipeline_seconds = seconds
    result.steps.extend(run_steps(env, seconds, samples, total_rows))
    result.served_file_mb = _served_file_mb(env)

    result.dbt_nodes["full"] = dbt_node_seconds(target)
    print(f"[{tier}] floor: compiled SQL straight into DuckDB", flush=True)
    result.floor_seconds = floor_seconds(warehouse, target, work)

    daily_increments(result, env, work, landing, days, mode)
    result.targets = targets(result)
    result.load_average = (round(load_at_start, 1), round(os.getloadavg()[0], 1))
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def render(results: list[TierResult]) -> str:
    lines = [
        f"Benchmark of {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
        f"{os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}. As of {AS_OF_DATE}. "
        f"DuckDB memory limit {os.environ.get('REVOPS_DUCKDB_MEMORY_LIMIT', MEMORY_LIMIT)} for dbt and "
        "the floor, spilling to the work folder beyond it.",
        "",
    ]
    for result in results:
        pipeline = result.pipeline_seconds
        daily_steps = mean_daily_steps(result)
        lines += [
            f"### Tier {result.tier}: {result.deals:,} deals, {result.activities:,} activities",
            "",
            f"Load average {result.load_average[0]} at the start, {result.load_average[1]} at the end "
            f"({os.cpu_count()} cores).",
            "",
            "| step | full: seconds | share | peak memory (MB) | rows/s | daily (mean): seconds | share | peak memory (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for step in result.steps:
            share = "" if step.step == "generate" else f"{step.seconds / pipeline:.0%}"
            rate = f"{step.rows_per_second:,.0f}" if step.rows_per_second else ""
            daily = daily_steps.get(step.step)
            daily_cells = (
                f"{daily.seconds:.1f} | {daily.seconds / result.daily_seconds:.0%} | {daily.peak_memory_mb:,.0f}"
                if daily is not None and result.daily_seconds
                else " | | "
            )
            lines.append(
                f"| {step.step} | {step.seconds:.1f} | {share} | {step.peak_memory_mb:,.0f} | {rate} | {daily_cells} |"
            )
        lines += [
            "",
            f"- full pipeline: **{pipeline:.1f} s**; floor (compiled model SQL in one DuckDB "
            f"connection, no dbt, no Dagster, no checks): {result.floor_seconds:.1f} s; "
            f"ratio {pipeline / result.floor_seconds:.1f}x",
            f"- peak memory of the whole pipeline (every process): "
            f"{max((step.peak_memory_mb for step in result.steps if step.step != 'generate'), default=0) / 1024:.1f} GiB",
            f"- daily run ({len(result.daily_runs)} days of CRM changes, {result.increment_mode} files, "
            f"each on the warehouse of the day before): mean **{result.daily_seconds:.1f} s**, "
            f"{result.daily_seconds / pipeline:.0%} of the full run "
            f"({', '.join(format(r['seconds'], '.1f') for r in result.daily_runs)} s)",
            f"- the daily sequence equals a full rebuild of the same final inputs "
            f"(`--full-refresh`, {result.full_refresh_seconds:.1f} s), mart by mart, row for row: "
            + (
                "**yes**"
                if result.daily_equals_full
                else "**no**: "
                + "; ".join(f"{mart}: {text}" for mart, text in result.mart_differences.items())
            ),
            "- the served file after the daily publishes (each writing only what changed) equals the built "
            "marts, row for row: "
            + (
                "**yes**"
                if result.served_equals_build
                else "unknown (no daily run)"
                if result.served_equals_build is None
                else "**no**: " + "; ".join(f"{m}: {t}" for m, t in result.served_differences.items())
            ),
        ]
        written = [
            f"{r['day']}: {r['publish']['written']}"
            for r in result.daily_runs
            if r.get("publish", {}).get("written")
        ]
        if written:
            lines += [f"- what the daily publishes wrote: {'; '.join(written)}"]
        sizes = ", ".join(f"{r['served_file_mb']:,.0f}" for r in result.daily_runs if "served_file_mb" in r)
        lines += [
            f"- the served file: {result.served_file_mb:,.0f} MB after the full run"
            + (f", after each daily publish {sizes} MB" if sizes else ""),
            "",
        ]
        lines += ["Against the targets:", ""]
        lines += [
            f"- {t['target']}: **{'met' if t['met'] else 'missed'}** ({t['measured']})"
            + (f"; held by {t['held_by']}" if not t["met"] and t.get("held_by") else "")
            for t in result.targets
        ]
        lines.append("")
        lines += _render_dbt_nodes(result)
    return "\n".join(lines)


def mean_daily_steps(result: TierResult) -> dict[str, StepFigure]:
    """Each step's mean seconds and highest peak over the daily runs."""
    by_step: dict[str, list[dict]] = {}
    for run in result.daily_runs:
        for step in run.get("steps", []):
            by_step.setdefault(step["step"], []).append(step)
    return {
        name: StepFigure(
            name, sum(s["seconds"] for s in steps) / len(steps), max(s["peak_memory_mb"] for s in steps)
        )
        for name, steps in by_step.items()
    }


# the targets per tier: (daily share of the full run, full run over the floor, full run seconds)
DAILY_SHARE_TARGET = {"M": 0.15, "L": 0.15}
FLOOR_RATIO_TARGET = {"M": 2.0, "L": 1.5}
FULL_SECONDS_TARGET = {"S": 15.0}
PEAK_GIB_TARGET = {"L": 8.0}


def targets(result: TierResult) -> list[dict]:
    """Each target of this tier, measured: met or missed, and for a missed one the step that
    holds it back (the run's largest step; for the dbt build, its slowest models)."""
    found = []
    full_steps = [s for s in result.steps if s.step != "generate"]
    daily_steps = mean_daily_steps(result)
    tier = result.tier

    def largest(steps: list[StepFigure], nodes: dict | None) -> str:
        if not steps:
            return "unknown (no step figures)"
        top = max(steps, key=lambda s: s.seconds)
        text = f"{top.step} ({top.seconds:.1f} s)"
        if top.step.startswith("dbt") and nodes:
            slow = sorted(nodes["models"].items(), key=lambda kv: -kv[1])[:3]
            text += ": " + ", ".join(f"{m} {sec:.1f} s" for m, sec in slow)
            text += f", data tests {nodes['data_test_seconds']:.1f} s summed"
        return text

    if tier in DAILY_SHARE_TARGET and result.daily_runs:
        share = result.daily_seconds / result.pipeline_seconds
        found.append(
            {
                "target": f"daily run <= {DAILY_SHARE_TARGET[tier]:.0%} of the full run",
                "met": share <= DAILY_SHARE_TARGET[tier],
                "measured": f"{share:.0%}: {result.daily_seconds:.1f} of {result.pipeline_seconds:.1f} s",
                "held_by": largest(list(daily_steps.values()), result.dbt_nodes.get("daily-1")),
            }
        )
    if tier in FLOOR_RATIO_TARGET and result.floor_seconds:
        ratio = result.pipeline_seconds / result.floor_seconds
        found.append(
            {
                "target": f"full run <= {FLOOR_RATIO_TARGET[tier]}x the floor",
                "met": ratio <= FLOOR_RATIO_TARGET[tier],
                "measured": f"{ratio:.1f}x: {result.pipeline_seconds:.1f} s against {result.floor_seconds:.1f} s",
                "held_by": largest(full_steps, result.dbt_nodes.get("full")),
            }
        )
    if tier in FULL_SECONDS_TARGET:
        found.append(
            {
                "target": f"full run <= {FULL_SECONDS_TARGET[tier]:.0f} s",
                "met": result.pipeline_seconds <= FULL_SECONDS_TARGET[tier],
                "measured": f"{result.pipeline_seconds:.1f} s",
                "held_by": largest(full_steps, result.dbt_nodes.get("full")),
            }
        )
    if tier in PEAK_GIB_TARGET:
        peak = (
            max([s.peak_memory_mb for s in full_steps] + [r["peak_memory_mb"] for r in result.daily_runs])
            / 1024
        )
        found.append(
            {
                "target": f"peak memory within {PEAK_GIB_TARGET[tier]:.0f} GiB",
                "met": peak <= PEAK_GIB_TARGET[tier],
                "measured": f"{peak:.1f} GiB, the whole process tree",
                "held_by": max(full_steps, key=lambda s: s.peak_memory_mb).step,
            }
        )
    return found


def _render_dbt_nodes(result: TierResult, top: int = 10) -> list[str]:
    """The slowest models of the full build beside their seconds in the first daily run."""
    full, daily = result.dbt_nodes.get("full"), result.dbt_nodes.get("daily-1")
    if not full:
        return []
    slowest = sorted(full["models"], key=lambda m: -full["models"][m])[:top]
    lines = [
        f"dbt's own seconds per model (the {top} slowest of the full build; run_results.json):",
        "",
        "| model | full build | first daily run |",
        "|---|---:|---:|",
    ]
    for model in slowest:
        seconds = daily["models"].get(model) if daily else None
        shown = "unknown (no daily run)" if seconds is None else f"{seconds:.2f}"
        lines.append(f"| {model} | {full['models'][model]:.2f} | {shown} |")
    tests = (
        f"{daily['data_test_seconds']:.1f} s ({daily['data_tests']} tests)"
        if daily
        else "unknown (no daily run)"
    )
    lines += [
        f"| all models | {sum(full['models'].values()):.1f} | "
        + (f"{sum(daily['models'].values()):.1f} |" if daily else "unknown |"),
        f"| data tests, summed over threads | {full['data_test_seconds']:.1f} s ({full['data_tests']} tests) "
        f"| {tests} |",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", nargs="+", default=["S", "M"], choices=sorted(TIERS))
    parser.add_argument("--keep", action="store_true", help="keep the work folders")
    parser.add_argument(
        "--days", type=int, default=3, help="daily increments after the full build (default 3)"
    )
    parser.add_argument(
        "--increment-mode",
        choices=["changes", "full"],
        default="changes",
        help="how each day arrives: change files (default) or rewritten full files",
    )
    args = parser.parse_args(argv)
    RESULTS_DIR.mkdir(exist_ok=True)
    results: list[TierResult] = []
    for tier in args.tiers:  # the report is written after each tier: a long tier L loses nothing before it
        results.append(bench_tier(tier, args.keep, args.days, args.increment_mode))
        report = render(results)
        (RESULTS_DIR / "report.md").write_text(report)
        (RESULTS_DIR / "report.json").write_text(
            json.dumps([{**asdict(r), "steps": [asdict(s) for s in r.steps]} for r in results], indent=2)
        )
    print(report)
    return 0 if all(r.daily_equals_full and r.served_equals_build is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
