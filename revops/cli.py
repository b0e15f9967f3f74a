"""`revops`: the warehouse from the command line.

    revops run [--demo] [--as-of YYYY-MM-DD] [--landing-dir DIR] [--warehouse FILE]
    revops demo-data [--deals N ...]

Errors are one readable paragraph and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from revops.settings import PROJECT_ROOT, Settings, SettingsError, parse_as_of_date


class CommandError(Exception):
    """A failure to report to the user as a plain paragraph."""


def _instance_environment() -> None:
    """Point Dagster at the repository's instance (dagster.yaml) unless told otherwise."""
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    os.environ.setdefault(
        "REVOPS_DAGSTER_STORAGE_DIR", str(PROJECT_ROOT / ".dagster_home" / "storage")
    )
    os.environ.setdefault(
        "REVOPS_DAGSTER_COMPUTE_LOGS_DIR", str(PROJECT_ROOT / ".dagster_home" / "logs")
    )


def _settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env().with_overrides(
        landing_dir=Path(args.landing_dir).resolve() if args.landing_dir else None,
        warehouse_path=Path(args.warehouse).resolve() if args.warehouse else None,
        as_of_date=parse_as_of_date(args.as_of),
    )


def _has_landing_files(landing_dir: Path) -> bool:
    return landing_dir.is_dir() and any(landing_dir.iterdir())


def command_demo_data(args: argparse.Namespace) -> int:
    from revops.demo_data import generate_demo_data

    settings = _settings_from(args)
    out = Path(args.out).resolve() if args.out else settings.landing_dir
    started = time.monotonic()
    counts = generate_demo_data(
        out,
        reps=args.reps,
        deals=args.deals,
        months=args.months,
        as_of_date=settings.as_of_date,
        seed=args.seed,
        file_format=args.format,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    rows = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    print(f"Demo CRM data written to {out} in {time.monotonic() - started:.1f} s: {rows}")
    return 0


def command_run(args: argparse.Namespace) -> int:
    settings = _settings_from(args)
    if args.demo and not _has_landing_files(settings.landing_dir):
        print(f"==> no landing files in {settings.landing_dir}: generating the demo CRM data")
        args.out = None
        command_demo_data(args)
    elif not _has_landing_files(settings.landing_dir):
        raise CommandError(
            f"The landing folder {settings.landing_dir} has no files. Put the CRM export "
            "there (one file per object, e.g. opportunity.csv) or run with --demo."
        )
    from revops.pipeline import run_pipeline

    return run_pipeline(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="revops", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--landing-dir", help="folder of CRM files (env REVOPS_LANDING_DIR)")
        p.add_argument("--warehouse", help="working DuckDB file (env REVOPS_WAREHOUSE_PATH)")
        p.add_argument("--as-of", help="the day the marts describe, YYYY-MM-DD (env REVOPS_AS_OF_DATE; default today)")

    def demo_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--deals", type=int, default=5000, help="number of deals (default 5000)")
        p.add_argument("--reps", type=int, default=20, help="number of reps (default 20)")
        p.add_argument("--months", type=int, default=24, help="months of history (default 24)")
        p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        p.add_argument("--format", choices=["csv", "parquet"], default="csv")

    run = sub.add_parser("run", help="ingest the landing folder, build and test the warehouse")
    common(run)
    run.add_argument("--demo", action="store_true", help="generate demo CRM data if the landing folder is empty")
    demo_options(run)
    run.set_defaults(func=command_run)

    demo = sub.add_parser("demo-data", help="write deterministic demo CRM files")
    common(demo)
    demo.add_argument("--out", help="output folder (default: the landing folder)")
    demo_options(demo)
    demo.set_defaults(func=command_demo_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    _instance_environment()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CommandError, SettingsError) as error:
        print(f"revops: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
