"""The generator's command line:

    python -m revops_demo --out data/landing --deals 5000 --reps 20 --months 24 \\
        --as-of 2026-11-23 --format csv --seed 42 [--camel-case-headers]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from revops_demo.generator import generate_demo_data
from revops_demo.vocab import FILE_FORMATS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m revops_demo",
        description="Deterministic demo CRM data: the landing files of the contract.",
    )
    parser.add_argument("--out", default="data/landing", help="output folder (default data/landing)")
    parser.add_argument("--deals", type=int, default=5000, help="number of deals (default 5000)")
    parser.add_argument("--reps", type=int, default=20, help="number of active reps (default 20)")
    parser.add_argument("--months", type=int, default=24, help="months of history (default 24)")
    parser.add_argument("--as-of", help="the last day of history, YYYY-MM-DD (default today, UTC)")
    parser.add_argument("--format", choices=FILE_FORMATS, default="csv")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--camel-case-headers",
        action="store_true",
        help="Salesforce API names as headers (StageName, Next_Step_Date__c)",
    )
    args = parser.parse_args(argv)
    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        parser.error(f"--as-of must be a date written YYYY-MM-DD (got {args.as_of!r})")
    started = time.monotonic()
    try:
        counts = generate_demo_data(
            args.out,
            reps=args.reps,
            deals=args.deals,
            months=args.months,
            as_of_date=as_of,
            seed=args.seed,
            file_format=args.format,
            camel_case_headers=args.camel_case_headers,
        )
    except ValueError as error:
        print(f"demo_data: {error}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    print(
        f"Demo CRM data ({args.format}, seed {args.seed}) written to {args.out} "
        f"in {time.monotonic() - started:.1f} s: {rows}"
    )
    return 0
