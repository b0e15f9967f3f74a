"""Write-audit-publish: copy the audited marts from the working warehouse to where BI reads.

The serving folder (`Settings.serve_dir`, env REVOPS_SERVE_DIR, default `data/serve`):

    revops.duckdb          the served warehouse BI opens read-only: schema `marts` (one
                           table per mart), `main.publish_log`, `main.alerts`
    parquet/current ->     a symlink to the folder of the current publish
    parquet/v-<publish_id>/<mart>.parquet
    parquet/v-<publish_id>/fct_deal_snapshots/<YYYY-MM>.parquet   (by month: `content`)
    .publish.lock          serializes publishers (an flock, released if a process dies)

Only what changed is written (`content`): the new `revops.duckdb` starts as a byte copy of
the served one; a mart whose content equals the current publish's keeps its table and its
Parquet file (a hard link), the largest mart (`content.PARTITIONED_MARTS`) has only its
changed months deleted and inserted again and written to Parquet, any other changed mart is
copied whole.

All or nothing: a publish prepares everything beside what is served (the new
`revops.duckdb` as a temporary file, the Parquet copy in a new version folder), then
writes a journal, swaps the DuckDB file in with one `os.replace`, swaps the `current`
symlink the same way, and commits the publish to the state file beside the working
warehouse (`revops.state`): that commit is the point of no return. A failure at any
step before it undoes the steps done (the previous served file, kept as a hard link,
goes back; `current` points at the previous version again) and the error says what
BI reads; a process killed between the swaps leaves the journal, and the next publish
(or alert) undoes or completes it before anything else. `PUBLISH_STEPS` names the
steps; `publish_marts(on_step=...)` is called before each (the tests inject failures
there). A reader that already has the old file open keeps reading the old inode;
readers never block the build, and the build never opens the served file for writing.

History: with a state file (`state_path`, what the pipeline passes), the publish log
and the alerts of the new served file are the state's, plus this publish: a deleted or
corrupt served file is rebuilt with its history by the next publish. Without one
(callers of the core on its own), they are carried forward from the previous served
file, as before the state file existed.

A failed run changes no mart: its alerts are recorded by copying the served file, adding
the alert rows to `main.alerts`, and swapping the copy in the same way, so the marts stay
byte-for-byte those of the last good publish (see `record_alerts`).

A process killed at any point leaves the served file intact: until the rename nothing but
temporary files (`.revops.duckdb.tmp-*`, `parquet/.tmp-*`) was written, and the next
publisher removes them under the lock.

The package, one module per part: `served` (the read side: where BI reads, the served
file's log and alerts), `request` (what a publish is asked and answers), `files` (lock,
cleanup, swaps), `history`, `journal` (undo or complete an interrupted publish), `marts`
(`publish_marts`), `content` (what each mart holds, per month for the partitioned one),
`alerts` (`record_alerts`).
"""

from __future__ import annotations

from revops.publish.alerts import RecordedAlerts, record_alerts
from revops.publish.files import LOCK_FILE, clean_stale_files, publish_lock
from revops.publish.history import describe_served
from revops.publish.journal import JOURNAL_FILE, recover_interrupted_publish
from revops.publish.marts import publish_marts
from revops.publish.request import PUBLISH_STEPS, OlderAsOfError, PublishError, PublishRequest, PublishResult
from revops.publish.served import (
    ALERTS_COLUMNS,
    CURRENT_LINK,
    MARTS_SCHEMA,
    PARQUET_DIR,
    PUBLISH_LOG_COLUMNS,
    SERVED_FILE,
    last_good_raw_counts,
    mart_fingerprints,
    open_served,
    read_alerts,
    read_publish_log,
    served_path,
)

__all__ = [
    "ALERTS_COLUMNS",
    "CURRENT_LINK",
    "JOURNAL_FILE",
    "LOCK_FILE",
    "MARTS_SCHEMA",
    "PARQUET_DIR",
    "PUBLISH_LOG_COLUMNS",
    "PUBLISH_STEPS",
    "SERVED_FILE",
    "OlderAsOfError",
    "PublishError",
    "PublishRequest",
    "PublishResult",
    "RecordedAlerts",
    "clean_stale_files",
    "describe_served",
    "last_good_raw_counts",
    "mart_fingerprints",
    "open_served",
    "publish_lock",
    "publish_marts",
    "read_alerts",
    "read_publish_log",
    "record_alerts",
    "recover_interrupted_publish",
    "served_path",
]
