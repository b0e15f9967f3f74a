"""The project's SQL passes sqlfluff (.sqlfluff at the repository root): the models and
the singular dbt tests, as `make lint` checks them."""

from __future__ import annotations

import subprocess
import sys

from conftest import PROJECT_ROOT

LINTED_PATHS = ["models", "dbt_project/tests"]


def test_sql_passes_sqlfluff():
    result = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", *LINTED_PATHS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    # 0: no violations; 1: violations; anything else: sqlfluff itself failed
    assert result.returncode == 0, (
        "sqlfluff lint failed (run `make lint`, fix by hand or with `sqlfluff fix`):\n"
        + result.stdout
        + result.stderr
    )
