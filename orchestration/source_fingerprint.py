"""What the landing-file sensor watches, and what the last run ingested.

`source_fingerprint` is the source as the sensor sees it: {file name: [size, mtime_ns]} of
the landing files, or of the DuckDB file holding a connector's schema. The ingestion asset
records the fingerprint of what it read on the `raw/_source_coverage` materialization
(metadata `source_fingerprint`), so every run, whoever started it, tells the sensor which
files are built: the sensor's first tick after a `revops run` asks for nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from revops.paths import LANDING_SUFFIXES
from revops.settings import Settings

SOURCE_FINGERPRINT_KEY = "source_fingerprint"
COVERAGE_KEY = dg.AssetKey(["raw", "_source_coverage"])


def landing_fingerprint(landing_dir: Path) -> dict[str, list]:
    """{file name: [size, mtime_ns]} for the landing files (hidden files ignored)."""
    if not landing_dir.is_dir():
        return {}
    fingerprint = {}
    for path in sorted(landing_dir.iterdir()):
        if path.name.startswith(".") or not path.name.lower().endswith(LANDING_SUFFIXES):
            continue
        stat = path.stat()
        fingerprint[path.name] = [stat.st_size, stat.st_mtime_ns]
    return fingerprint


def source_fingerprint(settings: Settings) -> tuple[dict[str, list], str]:
    """(fingerprint, what is watched) of the configured source: the landing folder's files,
    or the DuckDB file holding a connector's schema. A PostgreSQL source has no file to
    watch: the schedule builds it."""
    config = settings.source_config()
    if config.kind == "salesforce_files":
        return landing_fingerprint(settings.landing_dir), f"landing files in {settings.landing_dir}"
    if config.is_postgres or config.database is None:
        return {}, f"{config.kind} at {config.location} (no file to watch: the daily schedule builds it)"
    database = Path(config.database)
    fingerprint = {}
    for path in (database, database.with_name(database.name + ".wal")):
        if path.exists():
            stat = path.stat()
            fingerprint[path.name] = [stat.st_size, stat.st_mtime_ns]
    return fingerprint, f"the {config.kind} database {database}"


def last_ingested(context: Any, watched: str, fingerprint: dict[str, list]) -> str | None:
    """The run id of the latest ingestion, when it read exactly `fingerprint` of `watched`;
    None otherwise, or when the context has no instance (a bare test context)."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:
        return None
    entry = instance.get_latest_materialization_event(COVERAGE_KEY)
    if entry is None or entry.asset_materialization is None:
        return None
    recorded = entry.asset_materialization.metadata.get(SOURCE_FINGERPRINT_KEY)
    value = getattr(recorded, "value", recorded) or {}
    if value.get("watched") == watched and value.get("fingerprint") == fingerprint:
        return entry.run_id
    return None
