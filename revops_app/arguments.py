"""The `revops` command's arguments: one parser per subcommand with only its own flags, and
every value checked before any work starts.

A bad argument is one paragraph on stderr and exit code 2 (argparse's code for a usage
error), before anything is built or written: a date after today, a count that is not
positive, a landing folder or source database that does not exist.
"""

from __future__ import annotations

import argparse
import datetime as dt
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from revops.clock import utc_today

SOURCES = ["salesforce_files", "fivetran_salesforce", "hubspot"]
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one paragraph (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        text = f"{self.prog}: {message}".rstrip(".") + f". See `{self.prog} --help`."
        self.exit(EXIT_USAGE, text + "\n")


def version() -> str:
    """The installed package's version (pyproject.toml), or 'unknown' outside an install."""
    try:
        return metadata.version("revops-warehouse")
    except metadata.PackageNotFoundError:
        return "unknown (the package is not installed: pip install -e .)"


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {number}")
    return number


def past_date(value: str) -> dt.date:
    """A day written YYYY-MM-DD, today (UTC) at the latest: the marts describe what happened."""
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date written YYYY-MM-DD, got {value!r}") from None
    today = utc_today()
    if day > today:
        raise argparse.ArgumentTypeError(
            f"{day} is after today ({today}, UTC): the warehouse describes a day that has happened; "
            "leave the flag out for today"
        )
    return day


def validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The checks that need more than one value or the file system; argparse did the rest."""
    sub = getattr(args, "subparser", parser)
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if start is not None and end is not None and end < start:
        sub.error(f"--to {end} is before --from {start}")
    landing = getattr(args, "landing_dir", None)
    if landing is not None and not getattr(args, "demo", False) and not Path(landing).is_dir():
        hint = " (or run with --demo to generate demo data there)" if args.command == "run" else ""
        what = "is not a folder" if Path(landing).exists() else "does not exist"
        sub.error(f"argument --landing-dir: {landing} {what}{hint}")
    database = getattr(args, "source_database", None)
    if (
        database
        and not database.startswith(("postgresql://", "postgres://"))
        and not Path(database).is_file()
    ):
        sub.error(
            f"argument --source-database: {database} does not exist (a DuckDB file holding the connector's "
            "schema, or a postgresql:// URL; `revops demo-data --shape fivetran_salesforce` writes one)",
        )
    mapping = getattr(args, "mapping", None)
    if mapping and not Path(mapping).is_file():
        sub.error(f"argument --mapping: {mapping} does not exist")


# --------------------------------------------------------------------------- the flags


def _warehouse(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", metavar="FILE", help="working DuckDB file (env REVOPS_WAREHOUSE_PATH)")


def _serve_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--serve-dir", metavar="DIR", help="where BI reads the published marts (env REVOPS_SERVE_DIR)"
    )


def _as_of(p: argparse.ArgumentParser, what: str = "the day the marts describe") -> None:
    p.add_argument(
        "--as-of",
        type=past_date,
        metavar="YYYY-MM-DD",
        help=f"{what}, today at the latest (env REVOPS_AS_OF_DATE; default today, UTC)",
    )


def _source(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("source (default: the landing folder)")
    group.add_argument("--landing-dir", metavar="DIR", help="folder of CRM files (env REVOPS_LANDING_DIR)")
    group.add_argument(
        "--source",
        choices=SOURCES,
        help="where the CRM data comes from (env REVOPS_SOURCE; default salesforce_files: the landing folder)",
    )
    group.add_argument(
        "--source-database",
        metavar="FILE_OR_URL",
        help="DuckDB file or postgresql:// URL holding a connector's schema (env REVOPS_SOURCE_DATABASE)",
    )
    group.add_argument(
        "--source-schema",
        metavar="SCHEMA",
        help="the connector's schema (env REVOPS_SOURCE_SCHEMA; default salesforce / hubspot)",
    )
    group.add_argument(
        "--mapping",
        metavar="FILE",
        help="field mapping file (env REVOPS_SOURCE_MAPPING; default mappings/<source>.yml)",
    )


def _verbose(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="print Dagster's and dbt's logs here as well (by default they go to the log file whose path "
        "the run prints)",
    )


def _demo_options(p: argparse.ArgumentParser, title: str) -> None:
    group = p.add_argument_group(title)
    group.add_argument("--deals", type=positive_int, default=5000, help="number of deals (default 5000)")
    group.add_argument("--reps", type=positive_int, default=20, help="number of reps (default 20)")
    group.add_argument("--months", type=positive_int, default=24, help="months of history (default 24)")
    group.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    group.add_argument(
        "--format", choices=["csv", "parquet"], default="csv", help="landing file format (default csv)"
    )


def _host_port(p: argparse.ArgumentParser, port: int) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=positive_int, default=port, help=f"port (default {port})")


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


WITHOUT_PARTS = (
    "activities, tasks, events, leads, quotas, history, accounts, next_step, next_step_date, icp_fields, "
    "custom_fields, forecast_category, probability, account_ids, growth_inputs (marketing_spend, subscription)"
)


def build_parser(commands: Any = None) -> argparse.ArgumentParser:
    """The parser; `commands`: the module whose `command_*` functions run the subcommands
    (default `revops_app.cli`; `python -m revops_app.cli` passes its own `__main__`, so the
    errors its commands raise are the classes its `main` catches)."""
    if commands is None:
        from revops_app import cli as commands
    cli = commands

    parser = Parser(
        prog="revops",
        description="The RevOps warehouse from the command line: build, backfill, inspect, serve.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples(
            "revops run --demo                  # demo CRM data, then the whole build",
            "revops run --as-of 2026-11-23      # build the marts as of a past day",
            "revops status                      # the last publishes and any alerts since",
            "revops <command> --help            # the flags of one command",
        ),
    )
    parser.add_argument("--version", action="version", version=f"revops {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    def command(name: str, help: str, epilog: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func, subparser=p)
        return p

    run = command(
        "run",
        "ingest the source, gate, build and test the warehouse, gate the marts, publish them",
        _examples(
            "revops run --demo --deals 500      # demo data when the landing folder is empty",
            "revops run --landing-dir exports/ --as-of 2026-11-23",
            "revops run --source fivetran_salesforce --source-database fivetran.duckdb",
            "revops run --verbose               # Dagster's and dbt's logs on the terminal too",
        ),
        cli.command_run,
    )
    _source(run)
    _warehouse(run)
    _serve_dir(run)
    _as_of(run)
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental models (fct_deal_snapshots) from scratch: dbt build --full-refresh",
    )
    run.add_argument(
        "--allow-older",
        action="store_true",
        help="publish even when --as-of is older than the as_of_date BI reads now (refused by default)",
    )
    run.add_argument(
        "--rebuild-warehouse",
        action="store_true",
        help="move the working warehouse aside (e.g. a corrupt one) and rebuild it from the landing files; "
        "the served marts, publish history, alerts and baselines are kept",
    )
    _verbose(run)
    run.add_argument(
        "--demo", action="store_true", help="generate demo CRM data if the landing folder is empty"
    )
    _demo_options(run, "demo data (with --demo, when the landing folder is empty)")

    backfill = command(
        "backfill",
        "build every day of a range, oldest first, resumably (publishes only days newer than BI reads)",
        _examples(
            "revops backfill --from 2026-11-01 --to 2026-11-23",
            "revops backfill --from 2026-11-01 --to 2026-11-23   # again: carries on where it stopped",
        ),
        cli.command_backfill,
    )
    backfill.add_argument("--from", dest="start", type=past_date, required=True, help="first day, YYYY-MM-DD")
    backfill.add_argument("--to", dest="end", type=past_date, required=True, help="last day, YYYY-MM-DD")
    _source(backfill)
    _warehouse(backfill)
    _serve_dir(backfill)
    _verbose(backfill)

    status = command(
        "status",
        "the last publishes, their checks and any alerts since",
        _examples("revops status", "revops status --limit 20 --serve-dir /srv/bi"),
        cli.command_status,
    )
    _warehouse(status)
    _serve_dir(status)
    status.add_argument(
        "--limit", type=positive_int, default=5, help="how many publishes to list (default 5)"
    )

    reset = command(
        "reset-baseline",
        "forget the row-count baseline of the source (after a real, intended drop in rows)",
        _examples("revops reset-baseline", "revops reset-baseline --all"),
        cli.command_reset_baseline,
    )
    _source(reset)
    _warehouse(reset)
    _serve_dir(reset)
    reset.add_argument("--all", action="store_true", help="of every source, not only this one")

    dashboard = command(
        "dashboard",
        "serve the dashboard (Streamlit) over the published marts",
        _examples("revops dashboard", "revops dashboard --port 8600 --serve-dir /srv/bi"),
        cli.command_dashboard,
    )
    _serve_dir(dashboard)
    _host_port(dashboard, 8501)

    docs = command(
        "docs",
        "generate and serve the dbt docs of the working warehouse",
        _examples("revops docs", "revops docs --port 8081"),
        cli.command_docs,
    )
    _warehouse(docs)
    _as_of(docs)
    _host_port(docs, 8080)

    demo = command(
        "demo-data",
        "write deterministic demo CRM data (landing files or a connector's schema)",
        _examples(
            "revops demo-data --deals 500 --out /tmp/landing",
            "revops demo-data --shape fivetran_salesforce --out /tmp/fivetran.duckdb",
            "revops demo-data --without activities,quotas",
            "revops demo-data --next-day --out /tmp/landing   # the next day's CRM changes on top",
        ),
        cli.command_demo_data,
    )
    demo.add_argument(
        "--out",
        metavar="PATH",
        help="output folder (salesforce_files; default: the landing folder) or DuckDB file (connector shapes; "
        "default data/sources/<shape>.duckdb)",
    )
    demo.add_argument("--landing-dir", metavar="DIR", help="the landing folder, --out's default")
    demo.add_argument(
        "--shape",
        choices=SOURCES,
        default="salesforce_files",
        help="write the data as a landing folder (default), a Fivetran Salesforce schema or Fivetran's "
        "HubSpot schema",
    )
    demo.add_argument("--without", metavar="PARTS", help=f"leave parts out, comma-separated: {WITHOUT_PARTS}")
    demo.add_argument(
        "--next-day",
        action="store_true",
        help="write the next day's CRM changes (new deals, stage, amount and close-date edits, activities, "
        "deletions) into an existing demo landing folder instead of a new one, as a daily export delivers them",
    )
    demo.add_argument(
        "--increment-mode",
        choices=("full", "changes"),
        default="full",
        help="with --next-day: rewrite the files that changed (full, default) or write only the changed rows "
        "(<object>.changes.<day>.<ext>)",
    )
    demo.add_argument(
        "--history-mode",
        action="store_true",
        help="fivetran_salesforce: stage history as History Mode versions (salesforce_history.opportunity) "
        "instead of an opportunity_history table",
    )
    _as_of(demo, "the day the demo data ends")
    _demo_options(demo, "size and shape")
    return parser


def parse(argv: list[str] | None = None, commands: Any = None) -> argparse.Namespace:
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    # demo-data's --landing-dir is only --out's default: it may not exist yet
    if args.command == "demo-data":
        args.demo = True
    validate(parser, args)
    return args
