"""The dbt resource skips dagster-dbt's `dbt --version` subprocess and its in-process adapter,
and still says what `dbt --version` says."""

from __future__ import annotations

import re
import subprocess

from dagster_dbt import DbtCliResource

from orchestration.dbt_project import DBT_EXECUTABLE, RevOpsDbtCliResource, dbt_resource


def test_the_overridden_methods_still_exist_in_dagster_dbt():
    # were they renamed by an upgrade, the overrides would silently stop saving anything
    assert "_cli_version" in vars(DbtCliResource)
    assert callable(vars(DbtCliResource)["_initialize_dbt_core_adapter"])


def test_the_version_is_the_one_dbt_prints_and_no_adapter_is_made():
    printed = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    expected = re.search(r"installed:\s*(\d+\.\d+\.\d+)", printed)
    assert expected, printed
    resource = dbt_resource()
    assert str(resource._cli_version) == expected.group(1)
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_the_definitions_use_it():
    from orchestration.definitions import defs

    assert isinstance(defs.resources["dbt"], RevOpsDbtCliResource)
