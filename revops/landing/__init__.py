"""Load the landing folder's CRM files into the warehouse's raw schema.

One file per object of `revops.crm_contract` (`opportunity.csv`, `Opportunity.csv.gz`,
`opportunity_history.parquet`, ...) becomes the table `<raw_schema>.<object>`:

- the contract's columns first, in contract order, typed as declared;
- then any extra columns of the file, kept as VARCHAR under normalized names;
- then `_source_file` (file name), `_source_row` (line in the file; row number for
  Parquet) and `_loaded_at` (when the load ran, UTC).

Everything is read as text first and cast by DuckDB in one set-based pass, so a bad
value is reported (file, column, line, value) instead of silently becoming NULL, and
a malformed CSV row stops the load instead of being skipped. The table is replaced in
one transaction: a failed load leaves the previous table as it was, and loading the
same file twice gives the same rows. Each load also upserts a row of
`<raw_schema>._load_log` (file size, modification time, fingerprint, row count), which
the row-count and freshness checks and the file sensor read.

Pure Python and DuckDB: no Dagster here (see `orchestration.ingestion`).

The package, one module per step: `files` (which file is an object's), `headers` (its
columns), `casting` (to the declared types), `readers` (DuckDB's CSV and Parquet readers),
`load_log`, `load` (`load_landing_object`, `load_landing_folder`), `errors` (what a failed
load says).
"""

from __future__ import annotations

from revops.landing.errors import EXPECTED_FORMAT, MAX_EXAMPLES, BadValue, ColumnProblem, LandingFileError
from revops.landing.files import find_landing_file, normalize_column_name
from revops.landing.load import METADATA_COLUMNS, LoadResult, load_landing_folder, load_landing_object
from revops.landing.load_log import LOAD_LOG_TABLE, file_fingerprint

__all__ = [
    "EXPECTED_FORMAT",
    "LOAD_LOG_TABLE",
    "MAX_EXAMPLES",
    "METADATA_COLUMNS",
    "BadValue",
    "ColumnProblem",
    "LandingFileError",
    "LoadResult",
    "file_fingerprint",
    "find_landing_file",
    "load_landing_folder",
    "load_landing_object",
    "normalize_column_name",
]
