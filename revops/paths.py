"""Where the repository's own files are: the one place that knows the checkout's layout."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = PROJECT_ROOT / "seeds"
MAPPINGS_DIR = PROJECT_ROOT / "mappings"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

# the file kinds a landing folder may hold, one file per CRM object (the loader reads
# them, the file sensor watches them)
LANDING_SUFFIXES = (".csv", ".csv.gz", ".parquet")
