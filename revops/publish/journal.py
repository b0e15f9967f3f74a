"""The publish journal: what a publish killed between its swaps left, undone or completed by the
next publisher before anything else.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from revops import state
from revops.publish.files import fsync
from revops.publish.served import CURRENT_LINK, PARQUET_DIR, SERVED_FILE, served_path

JOURNAL_FILE = ".publish-journal.json"


PREVIOUS_PREFIX = f".{SERVED_FILE}.prev-"


def current_version(parquet: Path) -> str | None:
    link = parquet / CURRENT_LINK
    return os.readlink(link) if link.is_symlink() else None


def point_current(parquet: Path, version_name: str | None, tag: str) -> None:
    link = parquet / CURRENT_LINK
    if version_name is None:
        link.unlink(missing_ok=True)
        return
    link_tmp = parquet / f"{CURRENT_LINK}.tmp-{tag}"
    link_tmp.unlink(missing_ok=True)
    os.symlink(version_name, link_tmp)
    os.replace(link_tmp, link)


def undo_publish(serve_dir: Path, journal: Mapping[str, Any]) -> None:
    """Put back what the journal says was served before the publish it describes."""
    parquet = serve_dir / PARQUET_DIR
    served = served_path(serve_dir)
    previous = serve_dir / f"{PREVIOUS_PREFIX}{journal['publish_id']}"
    if journal.get("had_served"):
        if previous.exists():
            os.replace(previous, served)
    else:
        served.unlink(missing_ok=True)
    if current_version(parquet) != journal.get("previous_version"):
        point_current(parquet, journal.get("previous_version"), f"undo-{journal['publish_id']}")
    shutil.rmtree(parquet / journal["version"], ignore_errors=True)
    fsync(serve_dir)
    if parquet.is_dir():
        fsync(parquet)


def finish_publish(serve_dir: Path, journal: Mapping[str, Any]) -> None:
    (serve_dir / f"{PREVIOUS_PREFIX}{journal['publish_id']}").unlink(missing_ok=True)
    (serve_dir / JOURNAL_FILE).unlink(missing_ok=True)


def recover_interrupted_publish(serve_dir: Path, state_file: Path | None = None) -> str | None:
    """Complete or undo a publish a killed process left between its swaps. Call only under
    `publish_lock`. Returns what was done, or None when there was nothing to do."""
    serve_dir = Path(serve_dir)
    journal_path = serve_dir / JOURNAL_FILE
    if not journal_path.exists():
        return None
    try:
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
    except ValueError:
        journal_path.unlink(missing_ok=True)  # written only after its fsync: a torn one did nothing
        return None
    committed = False
    if state_file is not None and journal.get("state_file") == str(state_file):
        committed = state.has_publish(state_file, journal["publish_id"])
    if committed:
        finish_publish(serve_dir, journal)
        return f"completed publish {journal['publish_id']} (interrupted after its commit)"
    undo_publish(serve_dir, journal)
    finish_publish(serve_dir, journal)
    return f"undid publish {journal['publish_id']} (interrupted before its commit)"
