"""Load the landing folder's CRM files into the warehouse's raw schema.

One file per object of `revops.crm_contract` (`opportunity.csv`, `Opportunity.csv.gz`,
`opportunity_history.parquet`, ...) becomes the table `<raw_schema>.<object>`:

- the contract's columns first, in contract order, typed as declared;
- then any extra columns of the file, kept as VARCHAR under normalized names;
- then `_source_file` (file name), `_source_row` (line in the file; row number for
  Parquet) and `_loaded_at` (when the load ran, UTC).

Everything is read as text first and cast by DuckDB in one set-based pass, so a bad
value is reported (file, column, line, value) instead of silently becoming NULL, and
a malformed CSV row stops the load instead of being skipped. A load is one transaction:
a failed load leaves the previous table as it was.

Only what changed is loaded. Beside its full file an object may have change files,
`<object>.changes.<label>.<ext>` (only new and changed rows, applied in label order). A
file whose content hash `<raw_schema>._load_log_files` already holds is skipped; a changed
full file is merged by id and modification time and a new change file merged into the table
(`merge`: a row replaces the one with its id unless it is older; rows gone from a full file
stay, flagged `is_deleted`); everything else, and `full_refresh`, reloads the table from all
its files, with the same rows as a first load. Each load also upserts a row of
`<raw_schema>._load_log` (file size, modification time, fingerprint, row count, and the new,
changed, unchanged and deleted rows and the skipped files), which the row-count and freshness
checks and the file sensor read.

Pure Python and DuckDB: no Dagster here (see `orchestration.ingestion`).

The package, one module per step: `files` (which file is an object's), `headers` (its
columns), `casting` (to the declared types), `readers` (DuckDB's CSV and Parquet readers),
`load_log`, `merge` (by id and modification time), `load` (`load_landing_object`,
`load_landing_folder`), `errors` (what a failed load says).
"""

from __future__ import annotations

from revops.landing.errors import EXPECTED_FORMAT, MAX_EXAMPLES, BadValue, ColumnProblem, LandingFileError
from revops.landing.files import CHANGES_INFIX, find_change_files, find_landing_file, normalize_column_name
from revops.landing.load import (
    MAX_GONE_SHARE,
    METADATA_COLUMNS,
    LoadResult,
    load_landing_folder,
    load_landing_object,
)
from revops.landing.load_log import (
    LOAD_LOG_FILES_TABLE,
    LOAD_LOG_TABLE,
    content_hash,
    file_fingerprint,
    latest_load_time,
)

__all__ = [
    "CHANGES_INFIX",
    "EXPECTED_FORMAT",
    "LOAD_LOG_FILES_TABLE",
    "LOAD_LOG_TABLE",
    "MAX_EXAMPLES",
    "MAX_GONE_SHARE",
    "METADATA_COLUMNS",
    "BadValue",
    "ColumnProblem",
    "LandingFileError",
    "LoadResult",
    "content_hash",
    "file_fingerprint",
    "find_change_files",
    "find_landing_file",
    "latest_load_time",
    "load_landing_folder",
    "load_landing_object",
    "normalize_column_name",
]
