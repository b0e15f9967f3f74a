"""The project passes its own lint, as `make lint` runs it: sqlfluff on the SQL (.sqlfluff),
ruff (lint and format) on the Python, mypy on the core, and the import contracts
(pyproject's [tool.importlinter]: the layers, a core without Dagster, a dashboard on the
core's read side)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent
LINTED_SQL = ["models", "dbt_project/tests"]
PYTHON_PATHS = [
    path
    for path in ("revops", "revops_app", "revops_demo", "orchestration", "dashboard", "bench", "tests")
    if (PROJECT_ROOT / path).exists()
]


def _run(args: list[str], cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)


def test_sql_passes_sqlfluff():
    result = _run([sys.executable, "-m", "sqlfluff", "lint", *LINTED_SQL])
    # 0: no violations; 1: violations; anything else: sqlfluff itself failed
    assert result.returncode == 0, (
        "sqlfluff lint failed (run `make lint`, fix by hand or with `sqlfluff fix`):\n"
        + result.stdout
        + result.stderr
    )


def test_python_passes_ruff():
    result = _run([str(BIN / "ruff"), "check", *PYTHON_PATHS])
    assert result.returncode == 0, "ruff check failed (`ruff check --fix` fixes some):\n" + result.stdout


def test_python_is_ruff_formatted():
    result = _run([str(BIN / "ruff"), "format", "--check", *PYTHON_PATHS])
    assert result.returncode == 0, "ruff format would change files (run `ruff format`):\n" + result.stdout


def test_the_core_type_checks():
    result = _run([str(BIN / "mypy")])
    assert result.returncode == 0, "mypy found errors in the core:\n" + result.stdout + result.stderr


def test_imports_keep_the_layer_contracts():
    result = _run([str(BIN / "lint-imports")])
    assert result.returncode == 0, "an import breaks a layer contract:\n" + result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("revops/clock.py", "import dagster", "The core knows nothing of Dagster"),
        ("revops/clock.py", "import orchestration.definitions", "Imports point one way"),
        ("orchestration/jobs.py", "import dashboard.served", "Imports point one way"),
        ("dashboard/served.py", "import revops.landing", "read side only"),
    ],
)
def test_a_wrong_way_import_breaks_a_contract(tmp_path, module, line, contract):
    """The contracts can fail: the same check on a copy of the code with one import added."""
    for package in ("revops", "revops_app", "orchestration", "dashboard"):
        shutil.copytree(
            PROJECT_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(BIN), "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode != 0, result.stdout
    assert contract in result.stdout and "BROKEN" in result.stdout, result.stdout


# The core modules that may touch the process environment: the settings, and (until
# their connection settings move into Settings) the two that start dbt and Spark
# subprocesses, and the GX engine turning off GX's analytics. A new one fails this test.
ENVIRONMENT_READERS = {
    "revops/settings.py",
    "revops/warehouse_targets.py",
    "revops/spark_io.py",
    "revops/quality/gx_engine.py",
}


def test_only_the_settings_read_the_environment_in_the_core():
    readers = {
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in (PROJECT_ROOT / "revops").rglob("*.py")
        if "os.environ" in path.read_text(encoding="utf-8") or "getenv(" in path.read_text(encoding="utf-8")
    }
    assert readers <= ENVIRONMENT_READERS, (
        f"the core reads the environment outside revops/settings.py: {sorted(readers - ENVIRONMENT_READERS)}"
    )
