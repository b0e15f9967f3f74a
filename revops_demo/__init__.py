"""Deterministic demo CRM data: the landing objects of `revops.crm_contract`.

    python -m revops_demo --out data/landing --deals 5000 --reps 20 --months 24 \\
        --as-of 2026-11-23 --format csv --seed 42 [--camel-case-headers]

The data is made for the marts to have something to say: ICP deals (all four criteria
of `seeds/icp_rules.csv`) win more often and close faster; reps differ in skill, activity
and CRM hygiene; deals regress, get their close dates pushed, go quiet, stall; open deals
have stale close dates, vague or missing next steps and overdue follow-ups; inbound leads
arrive on the as-of day; quotas follow each rep's closed-won volume (60-120% attainment).
Stage names, probabilities, expected durations and forecast categories come from
`seeds/stage_map.csv`, the ICP rules from `seeds/icp_rules.csv`, read at run time.

Formats (CSV and Parquet hold the same rows in the same order):
- one file per object, `<object>.csv` or `<object>.parquet`, with exactly the contract's
  columns in the contract's order; headers snake_case, or Salesforce API names
  (`StageName`, `Next_Step_Date__c`) with `camel_case_headers`;
- CSV: dates `YYYY-MM-DD`, timestamps ISO 8601 UTC `2025-03-04T15:22:10Z`, booleans
  `true`/`false`, null = empty field. Parquet: date32, timestamp[us] (UTC, no zone),
  bool, int64, double, string;
- ids are Salesforce-like 18-character strings: the object's key prefix (`006` for
  opportunities, ...) and a zero-padded number;
- `probability` (opportunity and opportunity_history) is a percentage 0-100, as
  Salesforce stores it: the stage map's default_probability x 100;
- opportunity_history rows of a soft-deleted opportunity are soft-deleted with it.

Determinism: the same parameters and seed give byte-identical files. Deals are made in
fixed blocks of `CHUNK_DEALS`, each from its own generator seeded by (seed, block
index), so memory stays flat at any scale (a block's rows are written, then dropped).

Modules, one per part: `vocab` (constants), `seeds` (stage map, ICP rules, holidays),
`arrays` (day and id helpers), `writer` (one object's file), `context` (shared state),
`reps`, `accounts`, `deals`, `history`, `opportunities`, `activities`, `leads`, `quotas`,
`growth` (marketing spend and subscriptions), `generator` (the entry point), `cli`.
See docs/demo_data.md for the assumptions behind the story the data tells.
"""

from revops_demo.arrays import api_name
from revops_demo.cli import main
from revops_demo.generator import CHUNK_DEALS, PROGRESS_MIN_DEALS, generate_demo_data

__all__ = ["CHUNK_DEALS", "PROGRESS_MIN_DEALS", "api_name", "generate_demo_data", "main"]
