"""What a publish is asked to do and what it did, the steps it goes through, and its errors."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revops.clock import utcnow


class PublishError(RuntimeError):
    """The marts could not be published; the served ones are unchanged."""


@dataclass
class PublishResult:
    publish_id: str
    run_id: str
    as_of_date: dt.date
    published_at: dt.datetime
    served_path: Path
    parquet_dir: Path
    mart_row_counts: dict[str, int]
    mart_fingerprints: dict[str, str]
    seconds: float = 0.0
    published: bool = True  # False: skipped (`only_if_newer` and not newer); `detail` says why
    detail: str = ""
    served_at: str = ""  # where BI reads when it is not the served file (PostgreSQL: its schema and database)
    parquet_reused: tuple[str, ...] = ()  # marts whose Parquet file is the previous version's (unchanged)
    served_kept: tuple[
        str, ...
    ] = ()  # marts whose table in the served file is the previous one's (unchanged)
    # the months (YYYY-MM) written of each mart published by partition; the others were reused
    partitions_written: dict[str, tuple[str, ...]] = field(default_factory=dict)
    partition_counts: dict[str, int] = field(default_factory=dict)  # the months each of them has
    dropped: tuple[str, ...] = ()  # Spark: the databases of publishes no longer kept, dropped by this one


@dataclass
class PublishRequest:
    run_id: str
    as_of_date: dt.date
    marts: Sequence[str]
    raw_row_counts: Mapping[str, int] = field(default_factory=dict)
    checks: Sequence[Mapping[str, Any]] = ()
    alerts: Sequence[Mapping[str, Any]] = ()  # rows for main.alerts (see ALERTS_COLUMNS)
    source_key: str | None = None  # where the raw data came from: its counts become that source's baseline
    allow_older: bool = False  # publish even when BI reads a newer as_of_date
    only_if_newer: bool = False  # skip (published=False) unless newer than the served as_of_date (backfill)


# The steps of a publish, in order; `on_step(name)` is called before each.
PUBLISH_STEPS = (
    "copy_marts",  # the marts into the new DuckDB file (a copy of the served one: what changed written)
    "write_history",  # publish_log and alerts into it: the state's (or the old file's) + this publish
    "write_parquet",  # the Parquet copy into parquet/.tmp-<publish_id>
    "rename_version",  # ... renamed to parquet/v-<publish_id>
    "journal",  # what to restore written down; the served file kept as a hard link
    "swap_served",  # os.replace of revops.duckdb
    "swap_current",  # os.replace of parquet/current
    "commit_state",  # the publish recorded in the state file: the point of no return
    "finish",  # journal and hard link removed, old Parquet versions pruned
)


class OlderAsOfError(PublishError):
    """The marts describe an older day than the ones served; refused unless allowed."""


def older_as_of_refusal(last: Mapping[str, Any] | None, request: PublishRequest) -> str | None:
    """Why publishing `request` would show BI an older (or, with `only_if_newer`, not a newer)
    day than `last`, the publish log row of what BI reads now; None when it would not."""
    if last is None or last["as_of_date"] is None:
        return None
    served_day = last["as_of_date"]
    if request.as_of_date < served_day:
        return (
            f"the marts describe {request.as_of_date}, older than the {served_day} BI reads now (publish "
            f"{last['publish_id']}): publishing them would show BI older numbers; run with --allow-older to "
            "publish them anyway"
        )
    if request.only_if_newer and request.as_of_date == served_day:
        return f"BI already reads marts as of {served_day} (publish {last['publish_id']})"
    return None


def failure_reason(error: BaseException) -> str:
    """A failed publish step's reason: a PublishError's own sentence, else the error's type and text."""
    return str(error) if isinstance(error, PublishError) else f"{type(error).__name__}: {error}"


def not_published(
    request: PublishRequest,
    started: float,
    refusal: str | None,
    *,
    served_path: Path,
    parquet_dir: Path,
    served_at: str = "",
) -> PublishResult | None:
    """What every publish does with `older_as_of_refusal`'s answer: None to go on (no refusal, or
    `allow_older`), the result of a publish skipped under `only_if_newer`, else OlderAsOfError."""
    if refusal is None:
        return None
    if request.only_if_newer:
        return PublishResult(
            publish_id="",
            run_id=request.run_id,
            as_of_date=request.as_of_date,
            published_at=utcnow(),
            served_path=served_path,
            parquet_dir=parquet_dir,
            mart_row_counts={},
            mart_fingerprints={},
            seconds=time.monotonic() - started,
            published=False,
            detail=refusal,
            served_at=served_at,
        )
    if not request.allow_older:
        raise OlderAsOfError(refusal)
    return None


def publish_log_row(
    publish_id: str, request: PublishRequest, published_at: dt.datetime, version: str
) -> dict[str, Any]:
    """The publish log's row of a publish (`revops.publish.served.PUBLISH_LOG_COLUMNS`, less the
    mart counts and fingerprints the copy adds); `version`: where its marts are kept (the
    Parquet version folder, or PostgreSQL's kept schema)."""
    checks = list(request.checks)
    return {
        "publish_id": publish_id,
        "run_id": request.run_id,
        "as_of_date": request.as_of_date,
        "published_at": published_at,
        "mart_count": len(request.marts),
        "raw_row_counts": dict(request.raw_row_counts),
        "checks_passed": sum(1 for c in checks if c.get("passed")),
        "checks_warned": sum(1 for c in checks if not c.get("passed")),
        "checks": checks,
        "parquet_version": version,
        "source_key": request.source_key,
    }
