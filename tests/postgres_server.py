"""A PostgreSQL server of the tests' own on 127.0.0.1, shared by every test that needs one.

Registered as a fixture by tests/conftest.py (with `postgres_warehouse`, the demo built there
by dbt, which tests/portability shares); skipped when the server binaries are not
installed (`apt-get install postgresql`; .ci/run installs them).
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "postgres"  # the database superuser initdb creates (-U)
PG_DATABASE = "revops"


# --------------------------------------------------------------------------- server


def _postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (Debian keeps each major
    version in /usr/lib/postgresql/<major>/bin), else where initdb is on PATH."""
    versions = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    versions = [bin_dir for bin_dir in versions if bin_dir.parent.name.isdigit()]
    if versions:
        return max(versions, key=lambda bin_dir: int(bin_dir.parent.name))
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of its own on 127.0.0.1, stopped and deleted at the end."""
    bin_dir = _postgres_bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
            "install them with `apt-get install postgresql` to run the PostgreSQL tests"
        )
    missing = [m for m in ("psycopg2", "dbt.adapters.postgres") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(
            f"PostgreSQL is installed but {', '.join(missing)} is not importable: "
            "pip install dbt-postgres (see constraints.txt for the pinned version)"
        )

    # Not under pytest's basetemp: that folder is private to the test user, and the
    # server may have to run as another one.
    base = Path(tempfile.mkdtemp(prefix="revops-pg-"))
    data_dir = base / "data"
    data_dir.mkdir()
    log_file = data_dir / "server.log"

    as_root = os.geteuid() == 0
    if as_root:  # PostgreSQL refuses to run as root: run it as `postgres`
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base, ignore_errors=True)
            pytest.fail("running as root and there is no `postgres` user to run PostgreSQL as")
        base.chmod(0o755)
        os.chown(data_dir, account.pw_uid, account.pw_gid)

    def as_server_user(command: list[str]) -> list[str]:
        if not as_root:
            return command
        if shutil.which("runuser"):
            return ["runuser", "-u", "postgres", "--", *command]
        return ["su", "-s", "/bin/sh", "postgres", "-c", shlex.join(command)]

    def run(command: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(as_server_user(command), cwd=base, capture_output=True, text=True)

    def server_log() -> str:
        try:
            return log_file.read_text()[-3000:]
        except OSError:
            return "(no server log)"

    started = False
    try:
        init = run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                PG_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        if init.returncode != 0:
            pytest.fail(f"initdb failed:\n{init.stdout[-3000:]}\n{init.stderr[-3000:]}")
        for _attempt in range(3):  # a free port can be taken between probe and start
            port = _free_port()
            options = (
                f"-h 127.0.0.1 -p {port} -k {shlex.quote(str(data_dir))} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            start = run(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data_dir),
                    "-o",
                    options,
                    "-l",
                    str(log_file),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
            started = True  # pg_ctl may have left a server behind even when it failed
            if start.returncode == 0:
                break
        else:
            pytest.fail(f"PostgreSQL did not start:\n{start.stdout}\n{start.stderr}\n{server_log()}")
        yield PostgresServer(host="127.0.0.1", port=port, user=PG_USER)
    finally:
        if started:
            run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


def create_database(server: PostgresServer, name: str, template: str | None = None) -> None:
    """Create database `name`, empty or (`template`) a copy of another, which nobody may be
    connected to."""
    import psycopg2

    con = psycopg2.connect(server.dsn("postgres"))
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
    finally:
        con.close()


# --------------------------------------------------------------------------- warehouse


def _run_results(target_path: Path) -> list[dict]:
    return json.loads((target_path / "run_results.json").read_text())["results"]


@dataclass(frozen=True)
class PostgresWarehouse:
    server: PostgresServer
    database: str
    target_path: Path
    copied: list
    run_results: tuple[list[dict], list[dict]]  # the full build's, the incremental rerun's

    @property
    def dsn(self) -> str:
        return self.server.dsn(self.database)

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        import psycopg2

        with psycopg2.connect(self.dsn) as con, con.cursor() as cur:
            cur.execute(sql)
            return [c.name for c in cur.description], cur.fetchall()


@pytest.fixture(scope="session")
def postgres_warehouse(postgres_server, demo_warehouse, tmp_path_factory) -> PostgresWarehouse:
    """The demo raw data copied from `demo_warehouse`, built with dbt on PostgreSQL."""
    import duckdb
    from conftest import run_dbt  # imported here: conftest imports this module

    from revops.warehouse_targets import copy_raw_to_postgres

    create_database(postgres_server, PG_DATABASE)
    with duckdb.connect(str(demo_warehouse.warehouse_path), read_only=True) as con:
        copied = copy_raw_to_postgres(con, postgres_server.dsn(PG_DATABASE), raw_schema="raw")

    target_path = tmp_path_factory.mktemp("postgres") / "target"
    dbt_vars = {"as_of_date": demo_warehouse.as_of_date.isoformat()}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REVOPS_PG_HOST", postgres_server.host)
        env.setenv("REVOPS_PG_PORT", str(postgres_server.port))
        env.setenv("REVOPS_PG_USER", postgres_server.user)
        env.setenv("REVOPS_PG_PASSWORD", "")
        env.setenv("REVOPS_PG_DATABASE", PG_DATABASE)
        env.setenv("REVOPS_DBT_THREADS", "4")
        common = {"warehouse_path": demo_warehouse.warehouse_path, "target_path": target_path}
        run_dbt(["build", "--target", "postgres"], dbt_vars=dbt_vars, **common)
        full_build = _run_results(target_path)
        # A second, incremental run, as the daily schedule makes: the incremental model
        # must see no schema change and the snapshot must take its new rows.
        run_dbt(
            ["build", "--target", "postgres", "--select", "fct_deal_snapshots", "opportunity_state_snapshot"],
            dbt_vars=dbt_vars,
            **common,
        )
        rerun = _run_results(target_path)
    return PostgresWarehouse(postgres_server, PG_DATABASE, target_path, copied, (full_build, rerun))
