"""Shared fixtures: real dbt runs on real DuckDB files, isolated per test session.

Every dbt call here uses its own target and log folders (DBT_TARGET_PATH /
DBT_LOG_PATH) and its own warehouse file, so tests never touch `data/` or the
project's `dbt_project/target`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from postgres_server import postgres_server, postgres_warehouse  # noqa: F401 - fixtures for every test folder

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"

# The demo data every warehouse-level test reads: small, fixed and reproducible.
DEMO_AS_OF_DATE = dt.date(2026, 11, 23)
DEMO_SCALE = {"reps": 12, "deals": 1500, "months": 18, "seed": 7}


def run_dbt(
    args: list[str],
    *,
    warehouse_path: Path,
    target_path: Path,
    dbt_vars: dict | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run the dbt CLI against `warehouse_path`; fail the test with dbt's output on error."""
    env = {
        **os.environ,
        "REVOPS_WAREHOUSE_PATH": str(warehouse_path),
        "DBT_TARGET_PATH": str(target_path),
        "DBT_LOG_PATH": str(target_path / "logs"),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [str(DBT_EXECUTABLE), *args]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    process = subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
    if check and process.returncode != 0:
        pytest.fail(
            f"dbt {' '.join(args)} failed (exit {process.returncode}):\n"
            f"{process.stdout[-6000:]}\n{process.stderr[-2000:]}"
        )
    return process


def isolated_cli_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a `revops` command a test starts in its own process, as a scheduler
    would: none of the caller's REVOPS_/DBT_/DAGSTER_ settings, its own Dagster home and dbt
    target folder under `root`, this checkout's packages first; `extra` on top. The Dagster
    home has the repository's dagster.yaml, its folders made literal paths under the home
    (`dagster_home/storage`, `dagster_home/logs`), so a run stores what production stores."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVOPS_", "DBT_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(root / "dagster_home"),
        DBT_TARGET_PATH=str(root / "dbt_target"),
        DBT_LOG_PATH=str(root / "dbt_target" / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        GX_ANALYTICS_ENABLED="false",
        PYTHONPATH=str(PROJECT_ROOT),
        **extra,
    )
    _dagster_home(root / "dagster_home")
    return env


def _dagster_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    text = (PROJECT_ROOT / "dagster.yaml").read_text()
    text = text.replace("env: REVOPS_DAGSTER_STORAGE_DIR", f"{home / 'storage'}")
    text = text.replace("env: REVOPS_DAGSTER_COMPUTE_LOGS_DIR", f"{home / 'logs'}")
    (home / "dagster.yaml").write_text(text)


@dataclass(frozen=True)
class BuiltWarehouse:
    landing_dir: Path
    warehouse_path: Path
    target_path: Path
    as_of_date: dt.date

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse_path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


@contextlib.contextmanager
def shared_between_workers(tmp_path_factory, name: str):
    """A folder that every pytest-xdist worker of this session shares, and whether it is
    already made: the first worker builds it while holding the lock and the others wait for
    it instead of building it again (each demo build costs a core for a minute). Without
    xdist, a folder of the session's own. Only for read-only fixtures."""
    import filelock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder above every worker's own
    folder = base / f"shared-{name}"
    with filelock.FileLock(str(base / f"shared-{name}.lock")):
        done = folder / ".done"
        made = done.exists()
        if not made:
            shutil.rmtree(folder, ignore_errors=True)  # a worker that died half way
            folder.mkdir(parents=True)
        yield folder, made
        if not made:
            done.touch()


@pytest.fixture(scope="session")
def demo_landing_dir(tmp_path_factory) -> Path:
    """The demo CRM files at the test scale, generated once per session (read-only)."""
    from revops_demo import generate_demo_data

    with shared_between_workers(tmp_path_factory, "landing") as (landing_dir, made):
        if not made:
            generate_demo_data(landing_dir, as_of_date=DEMO_AS_OF_DATE, **DEMO_SCALE)
    return landing_dir


@pytest.fixture(scope="session")
def demo_warehouse(demo_landing_dir, tmp_path_factory) -> BuiltWarehouse:
    """The demo data loaded into raw and built with `dbt build` (models and tests), once per
    session (read-only: a test that changes it works on a copy)."""
    from revops.crm_contract import CRM_OBJECTS
    from revops.landing import load_landing_object

    with shared_between_workers(tmp_path_factory, "warehouse") as (work, made):
        built = BuiltWarehouse(
            landing_dir=demo_landing_dir,
            warehouse_path=work / "build.duckdb",
            target_path=work / "target",
            as_of_date=DEMO_AS_OF_DATE,
        )
        if not made:
            with duckdb.connect(str(built.warehouse_path)) as con:
                for obj in CRM_OBJECTS.values():
                    load_landing_object(con, obj, demo_landing_dir)
            run_dbt(
                ["build"],
                warehouse_path=built.warehouse_path,
                target_path=built.target_path,
                dbt_vars={"as_of_date": DEMO_AS_OF_DATE.isoformat()},
            )
    return built


# --------------------------------------------------------------------------- markers

PORTABILITY_FILES = {"tests/sources/test_fivetran_postgres.py"}


# The longest files first, so that with two workers (`make test`: pytest-xdist, one file per
# worker) neither waits alone at the end for the Spark suite. xdist keeps this order only
# with --no-loadscope-reorder (by default it sends the files with the most tests first).
# Seconds per file as last measured on a quiet 2-core machine; "~": estimated from that
# after a cut (fewer builds, Spark children or dbt parses), not yet measured quietly.
LONGEST_FILES = (
    "tests/portability/test_spark.py",  # ~1,300
    "tests/reliability/test_real_operation.py",  # ~280 (three builds)
    "tests/dashboard/test_dashboard_real_crms.py",  # 276
    "tests/dashboard/test_dashboard_pages.py",  # 227
    "tests/marts/test_untracked_sources.py",  # ~220 (one dbt parse for eight builds)
    "tests/portability/test_postgres.py",  # 208
    "tests/revops/test_backfill_cli.py",  # 201
    "tests/gate/test_bad_inputs.py",  # 197
    "tests/reliability/test_daily_increments.py",  # 186
    "tests/gate/test_publishing.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`portability`: the PostgreSQL and Spark suites (tests/portability/, anything that starts
    a PostgreSQL server); `browser`: the Chromium tests. `make test-fast` leaves out the first.
    The longest files run first (LONGEST_FILES); the order within a file is kept."""

    def first(item: pytest.Item) -> int:
        path = item.path.resolve().relative_to(PROJECT_ROOT).as_posix()
        return LONGEST_FILES.index(path) if path in LONGEST_FILES else len(LONGEST_FILES)

    items.sort(key=first)
    for item in items:
        path = item.path.resolve().relative_to(PROJECT_ROOT).as_posix()
        if (
            path.startswith("tests/portability/")
            or path in PORTABILITY_FILES
            or "postgres_server" in item.fixturenames
        ):
            item.add_marker(pytest.mark.portability)
        if path == "tests/dashboard/test_dashboard_pages.py" or "browser" in item.fixturenames:
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------------------- timeline

TIMELINE_ENV = "REVOPS_TEST_TIMELINE"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """With REVOPS_TEST_TIMELINE=<file>, one JSON line per test: the xdist worker, the test,
    and when it started and ended (setup and teardown included), to see how the workers
    share the suite (`python tests/timeline.py <file>` sums it per file and worker)."""
    timeline = os.environ.get(TIMELINE_ENV)
    started = dt.datetime.now().timestamp()
    result = yield
    if timeline:
        line = {
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "test": item.nodeid,
            "start": round(started, 3),
            "end": round(dt.datetime.now().timestamp(), 3),
        }
        with open(timeline, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
    return result
