"""Model settings for a pipeline run: REVOPS_DBT_VARS reaches dbt (whose tests bound the marts by the
same vars: tests/gate/test_mart_dbt_tests.py)."""

from __future__ import annotations

import json

import pytest

from orchestration.dbt_assets import dbt_environment, dbt_vars
from revops.settings import Settings, SettingsError

BASE = {"REVOPS_LANDING_DIR": "/tmp/landing", "REVOPS_AS_OF_DATE": "2026-11-23"}


def test_dbt_vars_of_the_run_reach_dbt():
    settings = Settings.from_env(
        {**BASE, "REVOPS_DBT_VARS": "{risk_stage_time_weight: 30, calibration_k: 20}"}
    )
    flag, payload = dbt_vars(settings)
    passed = json.loads(payload)
    assert flag == "--vars"
    assert passed["risk_stage_time_weight"] == 30 and passed["calibration_k"] == 20
    # the run's day reaches dbt through its environment, not as a var (a var that changes
    # every day would make dbt re-parse the whole project every day)
    assert "as_of_date" not in passed
    assert dbt_environment(settings)["REVOPS_AS_OF_DATE"] == "2026-11-23"
    assert "risk_activity_weight" not in passed  # dbt_project.yml's default applies in dbt


def test_without_the_setting_the_project_defaults_apply():
    settings = Settings.from_env(BASE)
    assert settings.dbt_vars == {}
    assert "risk_stage_time_weight" not in json.loads(dbt_vars(settings)[1])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[1, 2]", "must be a mapping of var names to values"),
        ("{a: [1", "is not YAML"),
        ("{as_of_date: 2026-01-01}", "sets as_of_date, which the run sets itself"),
    ],
)
def test_a_bad_dbt_vars_setting_is_refused_in_words(value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**BASE, "REVOPS_DBT_VARS": value})


def test_served_days_kept_is_a_setting_of_one_or_more_days():
    assert Settings.from_env(BASE).served_days_kept == 7
    assert Settings.from_env({**BASE, "REVOPS_SERVED_DAYS_KEPT": "3"}).served_days_kept == 3
    with pytest.raises(SettingsError, match="REVOPS_SERVED_DAYS_KEPT must be a whole number of 1 or more"):
        Settings.from_env({**BASE, "REVOPS_SERVED_DAYS_KEPT": "0"})
