"""The one `DbtProject` of the warehouse, kept apart so that importing it is cheap.

`prepare_manifest()` writes `dbt_project/target/manifest.json` with `dbt parse`; `make`
calls it (through `python -m orchestration.dbt_project`) before anything imports the
Dagster definitions, because a fresh checkout has no manifest and the dbt assets are
built from it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from revops.paths import DBT_PROJECT_DIR

# the dbt of this Python environment, whether or not its bin folder is on PATH
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

revops_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
)


def prepare_manifest() -> Path:
    """Run `dbt deps` and `dbt parse` so the manifest exists; return its path."""
    # the preparer calls `dbt` from PATH
    os.environ["PATH"] = f"{Path(DBT_EXECUTABLE).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    revops_dbt_project.preparer.prepare(revops_dbt_project)
    return revops_dbt_project.manifest_path


if __name__ == "__main__":
    print(f"dbt manifest ready: {prepare_manifest()}")


# dagster-dbt gives every `dbt build` its own folder under the target path
# (`revops_dbt_models-<run>-<invocation>`, ~10 MB each at demo scale)
INVOCATION_DIR_PREFIX = "revops_dbt_models-"
KEEP_INVOCATION_DIRS = 5


def prune_invocation_dirs(target_dir: Path, keep: int = KEEP_INVOCATION_DIRS) -> list[Path]:
    """Delete all but the `keep` newest dagster-dbt invocation folders of `target_dir`
    (newest by modification time); the ones deleted."""
    folders = sorted(
        (p for p in target_dir.glob(f"{INVOCATION_DIR_PREFIX}*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return folders[keep:]
