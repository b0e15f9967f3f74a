"""Helpers of the quality-gate tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GATE_AS_OF_DATE = dt.date(2026, 11, 23)
GATE_SCALE = {"reps": 12, "deals": 800, "months": 18, "seed": 7}
# a value that must load as data: it lands in the served marts as a deal name
SQL_NAME = "Robert'); DROP TABLE raw.opportunity;--"
SQL_NAME_LINE = 4  # its line in opportunity.csv (line 1 is the header)


class Webhook:
    """Slack's incoming webhook, played by a local HTTP server; keeps every JSON body."""

    def __init__(self):
        self.posts: list[dict] = []
        self.status = 200
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                webhook.posts.append(json.loads(body))
                self.send_response(webhook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/XXXX"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def clear(self) -> None:
        self.posts.clear()
        self.status = 200

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_build(
    landing_dir: Path, warehouse_path: Path, serve_dir: Path, as_of: dt.date = GATE_AS_OF_DATE
) -> int:
    """The pipeline as `revops run` runs it, in this process, on an ephemeral instance."""
    import dagster as dg

    from revops.settings import Settings
    from revops_app.pipeline import run_pipeline

    settings = Settings(
        landing_dir=landing_dir, warehouse_path=warehouse_path, as_of_date=as_of, serve_dir=serve_dir
    )
    with dg.DagsterInstance.ephemeral() as instance:
        return run_pipeline(settings, instance=instance)


def served_state(serve_dir: Path) -> dict:
    """What BI sees: every mart's row count and fingerprint, and the publish log."""
    from revops.publish import open_served

    with open_served(serve_dir) as con:
        assert con is not None, f"nothing served in {serve_dir}"
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        from revops.publish import mart_fingerprints

        counts, prints = mart_fingerprints(con, "marts", marts)
        publishes = con.execute("select count(*) from main.publish_log").fetchone()[0]
        alerts = con.execute("select count(*) from main.alerts").fetchone()[0]
    return {"counts": counts, "fingerprints": prints, "publishes": publishes, "alerts": alerts}


@dataclass(frozen=True)
class Baseline:
    landing_dir: Path
    warehouse_path: Path
    serve_dir: Path
    as_of_date: dt.date
    state: dict
    webhook_posts: list  # what the good build sent: the hygiene digests


def write_demo_landing(out: Path) -> Path:
    import csv

    from revops_demo import generate_demo_data

    generate_demo_data(out, as_of_date=GATE_AS_OF_DATE, file_format="csv", **GATE_SCALE)
    path = out / "opportunity.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[SQL_NAME_LINE - 1][rows[0].index("name")] = SQL_NAME
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return out


@dataclass(frozen=True)
class Workspace:
    landing_dir: Path
    warehouse_path: Path
    serve_dir: Path
