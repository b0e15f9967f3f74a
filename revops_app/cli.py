"""`revops`: the warehouse from the command line (the flags: `revops_app.arguments`).

    revops run [--demo] [--as-of YYYY-MM-DD] [--landing-dir DIR] [--warehouse FILE] [--verbose]
               [--full-refresh] [--allow-older] [--rebuild-warehouse]
    revops backfill --from YYYY-MM-DD --to YYYY-MM-DD   (resumable; publishes only newer days)
    revops status                                     (last publishes, checks, alerts)
    revops reset-baseline [--all]                     (forget the row-count baseline)
    revops demo-data [--deals N ...]
    revops dashboard [--port 8501]
    revops docs [--port 8080]
    revops --version

A build prints one line per step and its summary; Dagster's and dbt's logs go to
`<warehouse>.logs/run-<id>.log` (its path is printed; `--verbose` prints them too). Bad
arguments are refused before any work with one paragraph and exit code 2; a failed build
is one paragraph per failure and exit code 1, never a traceback. One build at a time per
working warehouse: a second one is refused at once with one sentence and exit code 75.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from revops.settings import PROJECT_ROOT, Settings, SettingsError


class CommandError(Exception):
    """A failure to report to the user as a plain paragraph."""


def _instance_environment() -> None:
    """Point Dagster at the repository's instance (dagster.yaml) unless told otherwise."""
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    os.environ.setdefault("REVOPS_DAGSTER_STORAGE_DIR", str(PROJECT_ROOT / ".dagster_home" / "storage"))
    os.environ.setdefault("REVOPS_DAGSTER_COMPUTE_LOGS_DIR", str(PROJECT_ROOT / ".dagster_home" / "logs"))


def _path_flag(args: argparse.Namespace, name: str) -> Path | None:
    value = getattr(args, name, None)
    return Path(value).resolve() if value else None


def _settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings, with the flags this subcommand has (the others stay unset)."""
    return Settings.from_env().with_overrides(
        source=getattr(args, "source", None),
        source_database=_database_flag(getattr(args, "source_database", None)),
        source_schema=getattr(args, "source_schema", None),
        source_mapping=_path_flag(args, "mapping"),
        landing_dir=_path_flag(args, "landing_dir"),
        warehouse_path=_path_flag(args, "warehouse"),
        as_of_date=getattr(args, "as_of", None),
        serve_dir=_path_flag(args, "serve_dir"),
    )


def _database_flag(value: str | None):
    from revops.settings import database_setting

    database = database_setting(value)
    return database.resolve() if isinstance(database, Path) else database


def _quiet(line: str) -> None:
    """Progress nobody asked for (without --verbose)."""


def _has_landing_files(landing_dir: Path) -> bool:
    return landing_dir.is_dir() and any(landing_dir.iterdir())


def _write_next_day(args: argparse.Namespace, out: Path, shape: str) -> int:
    """`demo-data --next-day`: the next day of an existing demo landing folder."""
    from revops_demo.increment import write_next_day

    if shape != "salesforce_files":
        raise CommandError("--next-day writes into a landing folder: use it without --shape")
    if not out.is_dir() or not any(out.iterdir()):
        raise CommandError(
            f"--next-day needs a demo landing folder to add to; {out} has none (run demo-data first)"
        )
    started = time.monotonic()
    try:
        counts = write_next_day(out, mode=args.increment_mode, seed=args.seed)
    except (ValueError, FileNotFoundError) as exc:
        raise CommandError(f"--next-day: {exc}") from None
    written = ", ".join(f"{name} {n:,}" for name, n in counts.items()) or "nothing"
    print(
        f"Next day of the demo CRM data written to {out} in {time.monotonic() - started:.1f} s ({args.increment_mode}): {written}"
    )
    return 0


def command_demo_data(args: argparse.Namespace) -> int:
    import tempfile

    from revops.sources.demo_shapes import ShapeError, parse_without
    from revops_demo import generate_demo_data

    settings = _settings_from(args)
    shape = getattr(args, "shape", None) or "salesforce_files"
    try:
        without = parse_without(getattr(args, "without", None))
    except ShapeError as exc:
        raise CommandError(str(exc)) from None
    if shape == "salesforce_files":
        out = Path(args.out).resolve() if args.out else settings.landing_dir
    else:
        out = Path(args.out).resolve() if args.out else PROJECT_ROOT / "data" / "sources" / f"{shape}.duckdb"
    if getattr(args, "next_day", False):
        return _write_next_day(args, out, shape)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="revops-demo-") as scratch:
        direct = shape == "salesforce_files" and not without
        folder = out if direct else Path(scratch) / "landing"
        counts = generate_demo_data(
            folder,
            reps=args.reps,
            deals=args.deals,
            months=args.months,
            as_of_date=settings.as_of_date,
            seed=args.seed,
            file_format=args.format if direct else "parquet",
            progress=(lambda line: print(line, file=sys.stderr, flush=True))
            if getattr(args, "verbose", True)
            else _quiet,
        )
        if shape == "salesforce_files" and without:
            from revops.sources.demo_shapes import write_landing_without

            counts = write_landing_without(folder, out, without)
        elif shape == "fivetran_salesforce":
            from revops.sources.demo_shapes import write_fivetran_salesforce

            counts = write_fivetran_salesforce(folder, out, without, history_mode=args.history_mode)
        elif shape == "hubspot":
            from revops.sources.hubspot_demo import write_hubspot_demo

            if without:
                from revops.sources.demo_shapes import write_landing_without

                trimmed = Path(scratch) / "trimmed"
                write_landing_without(folder, trimmed, without)
                folder = trimmed
            counts = write_hubspot_demo(folder, out)
    rows = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    left_out = f" without {', '.join(without)}" if without else ""
    print(f"Demo CRM data ({shape}{left_out}) written to {out} in {time.monotonic() - started:.1f} s: {rows}")
    if shape == "fivetran_salesforce":
        print(f"Build from it with:\n    REVOPS_SOURCE={shape} REVOPS_SOURCE_DATABASE={out} revops run")
    elif shape == "hubspot":
        from revops.sources.hubspot_demo import demo_mapping_path

        print(
            f"Build from it with (the mapping names the demo portal's custom properties, stage map,\n"
            f"managers and targets, written beside the database):\n"
            f"    REVOPS_SOURCE={shape} REVOPS_SOURCE_DATABASE={out} "
            f"REVOPS_SOURCE_MAPPING={demo_mapping_path(out)} revops run"
        )
    return 0


def _refuse_older(settings: Settings, allow_older: bool) -> None:
    """Refuse at once (before building) an as_of_date older than the one BI reads."""
    if allow_older:
        return
    from revops.state import last_publish

    last = last_publish(settings.state_path(), serve_dir=settings.serve_dir)
    as_of = settings.resolved_as_of_date()
    if last is not None and last["as_of_date"] is not None and as_of < last["as_of_date"]:
        raise CommandError(
            f"--as-of {as_of} is older than the {last['as_of_date']} BI reads now (publish {last['publish_id']}); "
            "publishing it would show BI older numbers. Run with --allow-older to publish it anyway, or "
            "`revops backfill` to build past days without replacing the served marts."
        )


def command_run(args: argparse.Namespace) -> int:
    from revops.build_guard import guarded_build

    settings = _settings_from(args)
    with guarded_build(settings, "revops run") if not args.rebuild_warehouse else _rebuild(settings):
        return _run(args, settings)


def _rebuild(settings: Settings):
    """The lock, then the working warehouse moved aside (not checked: it may be corrupt)."""
    import contextlib

    from revops.build_guard import move_aside
    from revops.run_lock import build_lock

    @contextlib.contextmanager
    def held():
        with build_lock(settings.warehouse_path, "revops run --rebuild-warehouse") as holder:
            aside = move_aside(settings.warehouse_path)
            if aside is not None:
                print(
                    f"==> the working warehouse was moved aside to {aside}; rebuilding it from the landing files"
                )
            yield holder

    return held()


def _run(args: argparse.Namespace, settings: Settings) -> int:
    _refuse_older(settings, args.allow_older)
    if settings.source != "salesforce_files":
        pass  # a connector's schema: nothing to check here, ingestion names what is missing
    elif args.demo and not _has_landing_files(settings.landing_dir):
        print(f"==> no landing files in {settings.landing_dir}: generating the demo CRM data")
        args.out = None
        command_demo_data(args)
    elif not _has_landing_files(settings.landing_dir):
        raise CommandError(
            f"The landing folder {settings.landing_dir} has no files. Put the CRM export "
            "there (one file per object, e.g. opportunity.csv) or run with --demo."
        )
    from revops_app.pipeline import run_pipeline

    code = run_pipeline(
        settings,
        full_refresh=args.full_refresh or args.rebuild_warehouse,
        allow_older=args.allow_older,
        entry_point="revops run",
        quiet=not args.verbose,
    )
    if code == 0:
        print("\n==> open the dashboard: make dashboard   (or .venv/bin/revops dashboard)")
    return code


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def command_backfill(args: argparse.Namespace) -> int:
    """Build day by day, oldest first; a state file beside the warehouse records the days
    done, so a second call with the same range carries on where the first stopped.

    Every day is built and gated; a day is published only when it is newer than what BI
    reads, so a backfill of past days never replaces the served marts."""
    from revops.build_guard import guarded_build
    from revops_app.pipeline import run_pipeline

    start, end = args.start, args.end
    days = _days(start, end)
    settings = _settings_from(args)
    with guarded_build(settings, "revops backfill"):
        return _backfill(settings, start, end, days, run_pipeline, quiet=not args.verbose)


def _backfill(
    settings: Settings, start: dt.date, end: dt.date, days: list[dt.date], run_pipeline, *, quiet: bool
) -> int:
    state_path = settings.warehouse_path.parent / f"backfill-{start}-{end}.json"
    done = set(json.loads(state_path.read_text())) if state_path.exists() else set()
    todo = [day for day in days if day.isoformat() not in done]
    if done:
        print(f"==> resuming the backfill: {len(days) - len(todo)} of {len(days)} days already built")
    for number, day in enumerate(todo, start=len(days) - len(todo) + 1):
        print(f"\n==> backfill day {number}/{len(days)}: {day}", flush=True)
        code = run_pipeline(
            settings.with_overrides(as_of_date=day),
            only_if_newer=True,
            entry_point="revops backfill",
            quiet=quiet,
        )
        if code != 0:
            raise CommandError(
                f"the backfill stopped at {day} ({number - 1} of {len(days)} days done). Fix the "
                f"cause above and run the same command again to carry on from {day}."
            )
        done.add(day.isoformat())
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps(sorted(done)))
    print(f"\n==> backfill complete: {len(days)} days from {start} to {end}")
    return 0


def command_reset_baseline(args: argparse.Namespace) -> int:
    from revops.build_guard import guarded_build
    from revops.state import reset_baseline

    settings = _settings_from(args)
    with guarded_build(settings, "revops reset-baseline"):
        removed = reset_baseline(
            settings.state_path(), None if args.all else settings.source_key(), serve_dir=settings.serve_dir
        )
    which = "every source" if args.all else f"the source {settings.source_key()}"
    print(
        f"Row-count baseline of {which} reset ({removed} load records forgotten): the next good load "
        "starts a new one."
    )
    return 0


def gate_location(settings: Settings) -> str | None:
    """Where the raw gate and dbt run, in words, when it is not the DuckDB build file."""
    from revops.quality.postgres import PostgresTarget
    from revops.warehouse_targets import dbt_target, postgres_dsn_from_env

    if dbt_target() != "postgres":
        return None
    where = PostgresTarget(postgres_dsn_from_env()).describe()
    return f"in PostgreSQL ({where}, schema {settings.raw_schema}): GX's SQL datasource and the SQL checks"


def command_status(args: argparse.Namespace) -> int:
    from revops.publish import served_path
    from revops.state import read_alerts, read_publish_log
    from revops.warehouse_targets import served_in_target

    settings = _settings_from(args)
    served = served_in_target(settings) or served_path(settings.serve_dir)
    log = read_publish_log(settings.state_path(), serve_dir=settings.serve_dir, limit=args.limit)
    if not log:
        print(f"Nothing has been published to {served} yet: run `make run`.")
        return 1
    print(f"Served warehouse: {served}")
    gate_in = gate_location(settings)
    if gate_in:
        print(f"Raw gate and dbt build: {gate_in}")
    for row in log:
        print(
            f"  {row['published_at']:%Y-%m-%d %H:%M}Z  as_of {row['as_of_date']}  run {str(row['run_id'])[:8]}  "
            f"{row.get('mart_count', '?')} marts  {row.get('checks_passed', '?')} checks passed, "
            f"{row.get('checks_warned', 0)} warnings"
        )
    alerts = [
        a
        for a in read_alerts(settings.state_path(), serve_dir=settings.serve_dir)
        if a["created_at"] is not None and a["created_at"] > log[0]["published_at"]
    ]
    if alerts:
        print(f"\n{len(alerts)} alert(s) since the last publish - the last run failed its gate:")
        for alert in alerts[-5:]:
            print(f"  {alert['created_at']:%Y-%m-%d %H:%M}Z  {alert.get('message') or alert}")
        return 1
    age = dt.datetime.now(dt.UTC).replace(tzinfo=None) - log[0]["published_at"]
    if age > dt.timedelta(days=1):
        print(f"\nThe served marts are {age.days} day(s) old: has the daily build run?")
    return 0


def command_dashboard(args: argparse.Namespace) -> int:
    from dashboard.launcher import run_dashboard

    settings = _settings_from(args)
    print(f"==> dashboard on http://{args.host}:{args.port} (reading {settings.serve_dir}; Ctrl-C stops it)")
    return run_dashboard(port=args.port, host=args.host, serve_dir=settings.serve_dir)


def command_docs(args: argparse.Namespace) -> int:
    dbt = Path(sys.executable).parent / "dbt"
    project = PROJECT_ROOT / "dbt_project"
    settings = _settings_from(args)
    env = {**os.environ, "REVOPS_WAREHOUSE_PATH": str(settings.warehouse_path.resolve())}
    as_of = json.dumps({"as_of_date": settings.resolved_as_of_date().isoformat()})
    generated = subprocess.run(
        [str(dbt), "docs", "generate", "--profiles-dir", str(project), "--vars", as_of], cwd=project, env=env
    )
    if generated.returncode != 0:
        raise CommandError("dbt docs generate failed (see above); has `make run` built the warehouse?")
    print(f"==> dbt docs on http://{args.host}:{args.port} (Ctrl-C stops it)")
    return subprocess.run(
        [
            str(dbt),
            "docs",
            "serve",
            "--profiles-dir",
            str(project),
            "--host",
            args.host,
            "--port",
            str(args.port),
            "--no-browser",
        ],
        cwd=project,
        env=env,
    ).returncode


def main(argv: list[str] | None = None) -> int:
    from revops_app.arguments import parse

    args = parse(argv, sys.modules[__name__])
    _instance_environment()
    from revops.build_guard import BuildLockedError, WarehouseCorruptError
    from revops.state import StateError
    from revops_app.pipeline import EXIT_BUILD_LOCKED

    try:
        return args.func(args)
    except BuildLockedError as error:
        print(f"revops: {error}", file=sys.stderr)
        return EXIT_BUILD_LOCKED
    except (CommandError, SettingsError, WarehouseCorruptError, StateError) as error:
        print(f"revops: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
