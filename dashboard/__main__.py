"""`python -m dashboard`: serve the RevOps dashboard on http://127.0.0.1:8501."""

from __future__ import annotations

import argparse
import sys

from dashboard.launcher import DEFAULT_HOST, DEFAULT_PORT, run_dashboard


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__)
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8501)")
    parser.add_argument(
        "--serve-dir",
        default=None,
        help="the folder holding revops.duckdb (default: REVOPS_SERVE_DIR, else data/serve)",
    )
    args = parser.parse_args(argv)
    print(f"RevOps dashboard on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    return run_dashboard(port=args.port, host=args.host, serve_dir=args.serve_dir)


if __name__ == "__main__":
    sys.exit(main())
