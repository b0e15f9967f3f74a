"""The one `DbtProject` of the warehouse, kept apart so that importing it is cheap.

`prepare_manifest()` writes `dbt_project/target/manifest.json` with `dbt parse`; `make`
calls it (through `python -m orchestration.dbt_project`) before anything imports the
Dagster definitions, because a fresh checkout has no manifest and the dbt assets are
built from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from revops.paths import DBT_PROJECT_DIR

# the dbt of this Python environment, whether or not its bin folder is on PATH
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

revops_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
)


class RevOpsDbtCliResource(DbtCliResource):
    """dagster-dbt's `DbtCliResource` without two fixed costs it pays before every `dbt build`
    for features this project does not use (measured on the 300-deal demo: 11 s of a 72 s
    dbt step under load, 4–6 s on a quiet machine):

    - it runs `dbt --version` in a subprocess to learn dbt's version (dbt imports all of
      dbt-core to print it); the dbt here is this environment's, so the installed
      dbt-core's version is the answer;
    - it loads the profile and registers a dbt adapter in Dagster's own process, used only
      by `fetch_column_metadata()` and `fetch_row_counts()`, which no asset calls.

    Both are private methods of dagster-dbt (pinned in constraints.txt):
    tests/orchestration/test_dbt_resource.py fails if an upgrade renames them.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent != Path(DBT_EXECUTABLE).parent:
            return super()._cli_version  # another dbt than this environment's: ask it
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


def dbt_resource() -> RevOpsDbtCliResource:
    """The dbt resource of the definitions: the project's dbt, the environment's executable."""
    return RevOpsDbtCliResource(project_dir=revops_dbt_project, dbt_executable=DBT_EXECUTABLE)


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


# dbt's partial-parse state (`partial_parse.msgpack`), kept per build file and target: dbt
# re-parses the whole project (~15 s) whenever the --vars, the target or the connection
# (the DuckDB path) differ from the state's, so one shared copy would thrash between
# warehouses; with one per warehouse a team's daily build parses only what changed
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
PARTIAL_PARSE_DIR = "partial_parse"
KEEP_PARTIAL_PARSE_STATES = 10  # ~3 MB each: the warehouses built most recently


def dbt_target_dir() -> Path:
    """dbt's target path as dagster-dbt resolves it: DBT_TARGET_PATH, else `target`, under
    the project folder when relative."""
    path = Path(os.environ.get("DBT_TARGET_PATH") or revops_dbt_project.target_path)
    return path if path.is_absolute() else revops_dbt_project.project_dir / path


def invocation_target_path(run_id: str) -> Path:
    """A new folder under the target path for one `dbt build` (named as dagster-dbt names them)."""
    return dbt_target_dir() / f"{INVOCATION_DIR_PREFIX}{run_id[:7]}-{uuid.uuid4().hex[:7]}"


def partial_parse_state(warehouse_path: Path, target: str) -> Path:
    """Where the partial-parse state of builds into `warehouse_path` on `target` is kept."""
    key = hashlib.sha256(f"{target}\0{Path(warehouse_path).resolve()}".encode()).hexdigest()[:16]
    return dbt_target_dir() / PARTIAL_PARSE_DIR / f"{key}.msgpack"


def seed_partial_parse(state: Path, invocation_dir: Path) -> bool:
    """Start an invocation from the kept state; False when there is none yet."""
    if not state.is_file():
        return False
    invocation_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(state, invocation_dir / PARTIAL_PARSE_FILE)
    return True


def keep_partial_parse(invocation_dir: Path, state: Path) -> None:
    """Keep what the invocation parsed for the next build (replaced atomically: builds of
    other warehouses may read their own states at the same time)."""
    parsed = invocation_dir / PARTIAL_PARSE_FILE
    if not parsed.is_file():
        return
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(f".{state.name}.{uuid.uuid4().hex[:8]}")
    shutil.copyfile(parsed, tmp)
    os.replace(tmp, state)
    with contextlib.suppress(FileNotFoundError):  # another build pruned at the same time
        kept = sorted(state.parent.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[KEEP_PARTIAL_PARSE_STATES:]:
            old.unlink(missing_ok=True)
