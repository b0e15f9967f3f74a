"""Settings enter orchestration/ through one `Settings` value, never by reading the
environment here and there: a ratchet on `os.environ` / `os.getenv` in orchestration/."""

from pathlib import Path

from orchestration.alerts import AlertingResource
from revops.paths import PROJECT_ROOT
from revops.settings import Settings

ORCHESTRATION = PROJECT_ROOT / "orchestration"

# Each module of orchestration/ that may still touch the process environment, and why.
# A new one fails the test; one that stops reading it must leave this list too.
ENVIRONMENT_READERS = {
    # the one Settings of the definitions when they load (the schedule's cron and time zone)
    "definitions.py": "builds the definitions' Settings once: Settings.from_env(os.environ)",
    # the run's Settings, read once when the run starts its resources (the one path of a run)
    "resources.py": "WarehouseResource / ServingResource read the run's Settings",
    # dbt's own variables, not settings: the dbt on PATH for the preparer, DBT_TARGET_PATH
    "dbt_project.py": "PATH for dbt's preparer and DBT_TARGET_PATH",
    # the dbt subprocess inherits the environment: the run's values are written for it
    "dbt_assets.py": "writes the dbt subprocess's environment from the run's Settings",
}


def _readers() -> set[str]:
    return {
        path.relative_to(ORCHESTRATION).as_posix()
        for path in ORCHESTRATION.rglob("*.py")
        if any(token in path.read_text(encoding="utf-8") for token in ("os.environ", "getenv("))
    }


def test_only_the_listed_modules_read_the_environment():
    readers = _readers()
    assert readers <= set(ENVIRONMENT_READERS), (
        f"orchestration/ reads the environment outside the settings path: {sorted(readers - set(ENVIRONMENT_READERS))}"
        " (take the value from the run's Settings: warehouse.settings())"
    )
    stale = set(ENVIRONMENT_READERS) - readers
    assert not stale, f"no longer read the environment, drop from ENVIRONMENT_READERS: {sorted(stale)}"


def test_the_definitions_read_the_environment_once():
    text = (ORCHESTRATION / "definitions.py").read_text(encoding="utf-8")
    assert text.count("os.environ") == 1 and "getenv(" not in text
    assert "Settings.from_env(os.environ)" in text


def test_the_schedule_and_sensor_module_reads_no_environment():
    text = Path(ORCHESTRATION / "schedules.py").read_text(encoding="utf-8")
    assert "os.environ" not in text and "getenv(" not in text and "from_env(" not in text


def test_alerts_go_to_the_runs_webhook():
    run_settings = Settings.from_env({"REVOPS_ALERT_WEBHOOK_URL": "https://hooks.example/run"})
    assert AlertingResource().url(run_settings) == "https://hooks.example/run"
    assert AlertingResource().url(Settings.from_env({})) == ""  # none set: recorded only
    assert AlertingResource(webhook_url="https://hooks.example/fixed").url(run_settings) == (
        "https://hooks.example/fixed"
    )
