"""Served files built from CRM data a real source would give: parts missing, other shapes.

Each build runs the real pipeline (`revops_app.pipeline.run_pipeline`: ingestion, gates, dbt,
mart gate, publish) on a small demo CRM (`SCALE`: the machine is slow), so what the
dashboard reads is exactly what a team with that CRM would see:

- `untracked`: the landing folder without tasks, events, quotas and next-step dates
  (`revops demo-data --without activities,quotas,next_step_date`);
- `fivetran_salesforce`: the schema Fivetran's Salesforce connector writes;
- `hubspot`: Fivetran's HubSpot schema, with the mapping written beside it.

Run as a script (`python tests/dashboard/real_crm_builds.py <folder> [kind ...]`) to
build them once for looking at the dashboard by hand.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

AS_OF_DATE = dt.date(2026, 11, 23)
SCALE = {"reps": 8, "deals": 300, "months": 12, "seed": 7}  # as tests/sources/test_hubspot.py
UNTRACKED = ("activities", "quotas", "next_step_date")
KINDS = ("untracked", "fivetran_salesforce", "hubspot")


def demo_landing(folder: Path) -> Path:
    from revops_demo import generate_demo_data

    landing = folder / "landing"
    if not landing.exists():
        generate_demo_data(landing, as_of_date=AS_OF_DATE, **SCALE)  # CSV, as the HubSpot writer reads it
    return landing


def build(kind: str, work: Path) -> Path:
    """Build and publish `kind` under `work/<kind>`; the serve folder."""
    import dagster as dg

    from revops.settings import Settings
    from revops_app.pipeline import run_pipeline

    landing = demo_landing(work)
    folder = work / kind
    folder.mkdir(parents=True, exist_ok=True)
    base = {
        "warehouse_path": folder / "build.duckdb",
        "as_of_date": AS_OF_DATE,
        "serve_dir": folder / "serve",
    }
    if kind == "untracked":
        from revops.sources.demo_shapes import write_landing_without

        trimmed = folder / "landing"
        write_landing_without(landing, trimmed, UNTRACKED)
        settings = Settings(landing_dir=trimmed, **base)
    elif kind == "fivetran_salesforce":
        from revops.sources.demo_shapes import write_fivetran_salesforce

        database = folder / "fivetran_salesforce.duckdb"
        write_fivetran_salesforce(landing, database)
        settings = Settings(
            landing_dir=folder / "no-landing-folder", source=kind, source_database=database, **base
        )
    elif kind == "hubspot":
        from revops.sources.hubspot_demo import demo_mapping_path, write_hubspot_demo

        database = folder / "hubspot.duckdb"
        write_hubspot_demo(landing, database)
        settings = Settings(
            landing_dir=folder / "no-landing-folder",
            source=kind,
            source_database=database,
            source_mapping=demo_mapping_path(database),
            **base,
        )
    else:
        raise ValueError(f"unknown build {kind!r}; one of {', '.join(KINDS)}")
    with dg.DagsterInstance.ephemeral() as instance:
        code = run_pipeline(settings, instance=instance)
    if code != 0:
        raise RuntimeError(f"the {kind} build exited with {code} (its output is above)")
    return settings.serve_dir


if __name__ == "__main__":
    target = Path(sys.argv[1])
    for name in sys.argv[2:] or KINDS:
        print(name, build(name, target), flush=True)
