"""dagster-dbt's per-invocation target folders are pruned to the newest few."""

from __future__ import annotations

import os

from orchestration.dbt_project import INVOCATION_DIR_PREFIX, prune_invocation_dirs


def test_only_the_newest_invocation_folders_are_kept(tmp_path):
    folders = []
    for age in range(8):  # age 0 is the newest
        folder = tmp_path / f"{INVOCATION_DIR_PREFIX}run{age}-abc"
        folder.mkdir()
        (folder / "manifest.json").write_text("{}")
        os.utime(folder, (1_000_000 - age * 60, 1_000_000 - age * 60))
        folders.append(folder)
    other = tmp_path / "compiled"
    other.mkdir()
    (tmp_path / "manifest.json").write_text("{}")

    deleted = prune_invocation_dirs(tmp_path, keep=3)

    assert sorted(deleted) == sorted(folders[3:])
    assert [f.exists() for f in folders] == [True] * 3 + [False] * 5
    assert other.exists() and (tmp_path / "manifest.json").exists()
    assert prune_invocation_dirs(tmp_path, keep=3) == []
