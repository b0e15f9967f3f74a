"""Fixtures of the quality-gate tests: one good build per session, cheap bad runs after it.

The good baseline (demo data at a small scale) is built and published ONCE; each bad
case copies its landing folder, corrupts one thing, and runs the whole pipeline into a
copy of the baseline's working warehouse and serving folder. Alerts go to a real HTTP
server on 127.0.0.1 standing in for Slack's incoming webhook.

`tests/gate` is a package so that this conftest does not shadow `tests/conftest.py`
(both would otherwise be imported as the module `conftest`).
"""

from __future__ import annotations

import shutil

import pytest

from .helpers import (
    GATE_AS_OF_DATE,
    Baseline,
    Webhook,
    Workspace,
    run_build,
    served_state,
    write_demo_landing,
)


@pytest.fixture(scope="session")
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture(scope="session")
def gate_env(webhook, tmp_path_factory):
    """The environment every gate run sees: the webhook, dbt's target folder, no analytics."""
    target = tmp_path_factory.mktemp("dbt_target")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REVOPS_ALERT_WEBHOOK_URL", webhook.url)
        mp.setenv("DBT_TARGET_PATH", str(target))
        mp.setenv("DBT_LOG_PATH", str(target / "logs"))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        mp.setenv("GX_ANALYTICS_ENABLED", "false")
        for name in ("REVOPS_GATE_MAX_ROW_DROP_RATE", "REVOPS_GATE_FRESHNESS_DAYS"):
            mp.delenv(name, raising=False)
        yield {"dbt_target": target}


@pytest.fixture(scope="session")
def baseline(gate_env, webhook, tmp_path_factory) -> Baseline:
    """The good build, published once: the last good marts every bad case must leave alone."""
    work = tmp_path_factory.mktemp("baseline")
    landing = write_demo_landing(work / "landing")
    code = run_build(landing, work / "build.duckdb", work / "serve")
    assert code == 0, "the good baseline did not build and publish"
    posts = list(webhook.posts)
    webhook.clear()
    return Baseline(
        landing, work / "build.duckdb", work / "serve", GATE_AS_OF_DATE, served_state(work / "serve"), posts
    )


@pytest.fixture
def workspace(baseline, tmp_path) -> Workspace:
    """Copies of the baseline's landing folder, working warehouse and serving folder."""
    landing = tmp_path / "landing"
    shutil.copytree(baseline.landing_dir, landing)
    shutil.copyfile(baseline.warehouse_path, tmp_path / "build.duckdb")
    shutil.copytree(baseline.serve_dir, tmp_path / "serve", symlinks=True)
    return Workspace(landing, tmp_path / "build.duckdb", tmp_path / "serve")
