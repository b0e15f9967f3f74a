"""The demo CRM data in each source's shape, with parts left out on request.

    revops demo-data --shape salesforce_files|fivetran_salesforce|hubspot [--without tasks,events,...]

The generator (`revops_demo`) writes the contract's landing files; this module takes
them and writes what a real team would have: the landing folder without some objects or
columns, a DuckDB database holding the Salesforce schema as Fivetran writes it, or Fivetran's
HubSpot schema. Every case of "what real CRMs lack" is one command to reproduce.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb

from revops.crm_contract import CRM_OBJECTS, GROWTH_OBJECTS
from revops.sql import quote_identifier, quote_literal, scalar

# --without names: an object, or a part of one (object, column) that a real CRM may lack.
OPTIONAL_PARTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "tasks": (("task", None),),
    "events": (("event", None),),
    "activities": (("task", None), ("event", None)),
    "leads": (("lead", None),),
    "quotas": (("forecasting_quota", None),),
    "history": (("opportunity_history", None),),
    "accounts": (("account", None),),
    "next_step_date": (("opportunity", "next_step_date_c"),),
    "next_step": (("opportunity", "next_step"), ("opportunity", "next_step_date_c")),
    "icp_fields": (
        ("opportunity", "trigger_event_c"),
        ("opportunity", "technical_fit_c"),
        ("account", "industry"),
        ("account", "number_of_employees"),
    ),
    "custom_fields": (
        ("opportunity", "next_step_date_c"),
        ("opportunity", "trigger_event_c"),
        ("opportunity", "technical_fit_c"),
    ),
    "forecast_category": (
        ("opportunity", "forecast_category_name"),
        ("opportunity_history", "forecast_category"),
    ),
    "probability": (("opportunity", "probability"), ("opportunity_history", "probability")),
    "growth_inputs": (("marketing_spend", None), ("subscription", None)),
}
# parts that keep the column but empty its values (a legal null, not an absent column)
NULLED_PARTS = {"account_ids": ("opportunity", "account_id")}
SHAPES = ("salesforce_files", "fivetran_salesforce", "hubspot")
# the columns Fivetran's Salesforce connector does not give these objects (dbt_salesforce_source)
FIVETRAN_SALESFORCE_LACKS = {"account": ("created_date",), "user": ("created_date",)}


class ShapeError(ValueError):
    """A --shape or --without the generator does not know."""


def parse_without(text: str | None) -> list[str]:
    """`tasks,events` -> ['tasks', 'events']; unknown names are an error listing the known."""
    names = [n.strip().lower() for n in (text or "").split(",") if n.strip()]
    known = set(OPTIONAL_PARTS) | set(NULLED_PARTS) | set(CRM_OBJECTS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ShapeError(
            f"--without does not know {', '.join(unknown)}; it takes a comma-separated list of: "
            f"{', '.join(sorted(OPTIONAL_PARTS))}, {', '.join(sorted(NULLED_PARTS))}, or an object name "
            f"({', '.join(n for n in CRM_OBJECTS if n not in ('user', 'opportunity'))})"
        )
    for name in names:
        if name in ("user", "opportunity"):
            raise ShapeError(f"--without {name}: user and opportunity are required to build at all")
    return names


def _removed(without: Iterable[str]) -> tuple[set[str], dict[str, set[str]], dict[str, set[str]]]:
    objects: set[str] = set()
    columns: dict[str, set[str]] = {}
    nulled: dict[str, set[str]] = {}
    for name in without:
        if name in CRM_OBJECTS:
            objects.add(name)
        for obj, column in OPTIONAL_PARTS.get(name, ()):
            if column is None:
                objects.add(obj)
            else:
                columns.setdefault(obj, set()).add(column)
        if name in NULLED_PARTS:
            obj, column = NULLED_PARTS[name]
            nulled.setdefault(obj, set()).add(column)
    return objects, columns, nulled


def _read(con: duckdb.DuckDBPyConnection, folder: Path, obj: str) -> str:
    for suffix in (".parquet", ".csv"):
        path = folder / f"{obj}{suffix}"
        if path.exists():
            reader = "read_parquet" if suffix == ".parquet" else "read_csv"
            options = "" if suffix == ".parquet" else ", header = true, all_varchar = true"
            return f"{reader}({quote_literal(str(path))}{options})"
    raise FileNotFoundError(f"{folder} has no file for {obj}")


def _projection(
    obj: str, removed_columns: set[str], nulled: set[str], types: dict[str, str] | None = None
) -> str:
    parts = []
    for column, type_name in CRM_OBJECTS[obj].columns.items():
        if column in removed_columns:
            continue
        target = (types or {}).get(column, type_name)
        value = (
            f"cast(null as {target})" if column in nulled else f"cast({quote_identifier(column)} as {target})"
        )
        parts.append(f"{value} as {quote_identifier(column)}")
    return ", ".join(parts)


def write_landing_without(source: Path, out: Path, without: Iterable[str]) -> dict[str, int]:
    """Copy the landing folder `source` to `out` without the named parts (CSV out)."""
    objects, columns, nulled = _removed(without)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        for obj in CRM_OBJECTS:
            for stale in out.glob(f"{obj}.*"):
                stale.unlink()
            if obj in objects:
                continue
            if (
                not columns.get(obj)
                and not nulled.get(obj)
                and (source / f"{obj}.csv").exists()
                and source != out
            ):
                shutil.copyfile(source / f"{obj}.csv", out / f"{obj}.csv")
            else:
                con.execute(
                    f"copy (select {_projection(obj, columns.get(obj, set()), nulled.get(obj, set()))} "
                    f"from {_read(con, source, obj)}) to {quote_literal(str(out / (obj + '.csv')))} (header, "
                    f"timestampformat '%Y-%m-%dT%H:%M:%SZ')"
                )
            counts[obj] = scalar(con, f"select count(*) from {_read(con, out, obj)}")
    return counts


def write_fivetran_salesforce(
    source: Path,
    database: Path,
    without: Iterable[str] = (),
    *,
    schema: str = "salesforce",
    history_mode: bool = False,
    history_schema: str = "salesforce_history",
) -> dict[str, int]:
    """A DuckDB database holding the landing folder `source` as Fivetran's Salesforce
    connector writes it: its table and column names, dates as timestamps, `_fivetran_synced`
    and `_fivetran_deleted`, no created_date on account and user. `history_mode`: the stage
    history as History Mode versions of opportunity (`<history_schema>.opportunity`) instead
    of an opportunity_history table."""
    objects, columns, nulled = _removed(without)
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    counts = {}
    with duckdb.connect(str(database)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create schema {quote_identifier(schema)}")
        for obj, crm in CRM_OBJECTS.items():
            if obj in objects or obj in GROWTH_OBJECTS or (history_mode and obj == "opportunity_history"):
                continue
            lacks = set(FIVETRAN_SALESFORCE_LACKS.get(obj, ())) | columns.get(obj, set())
            types = {c: "timestamp" for c, t in crm.columns.items() if t == "DATE"}
            deleted = (
                "coalesce(cast(is_deleted as boolean), false)" if "is_deleted" in crm.columns else "false"
            )
            con.execute(
                f"create table {quote_identifier(schema)}.{quote_identifier(obj)} as select "
                f"{_projection(obj, lacks, nulled.get(obj, set()), types)}, "
                f"timestamp '2026-01-01 00:00:00' as _fivetran_synced, {deleted} as _fivetran_deleted "
                f"from {_read(con, source, obj)}"
            )
            counts[f"{schema}.{obj}"] = scalar(
                con, f"select count(*) from {quote_identifier(schema)}.{quote_identifier(obj)}"
            )
        if history_mode and "opportunity_history" not in objects:
            con.execute(f"create schema {quote_identifier(history_schema)}")
            opportunity_columns = [
                c
                for c in CRM_OBJECTS["opportunity"].columns
                if c not in columns.get("opportunity", set())
                and c not in ("stage_name", "amount", "close_date")
            ]
            types = CRM_OBJECTS["opportunity"].columns
            kept = ", ".join(
                f"cast(o.{quote_identifier(c)} as {'timestamp' if types[c] == 'DATE' else types[c]}) as {quote_identifier(c)}"
                for c in opportunity_columns
            )
            con.execute(
                f"""
                create table {quote_identifier(history_schema)}.opportunity as
                with history as (
                    select * from {_read(con, source, "opportunity_history")} where not coalesce(cast(is_deleted as boolean), false)
                ),
                versions as (
                    select
                        h.opportunity_id, h.stage_name, cast(h.amount as double) as amount,
                        cast(h.close_date as timestamp) as close_date,
                        cast(h.created_date as timestamp) as _fivetran_start,
                        lead(cast(h.created_date as timestamp)) over (
                            partition by h.opportunity_id order by cast(h.created_date as timestamp), h.id
                        ) as next_start
                    from history as h
                )
                select
                    v._fivetran_start,
                    coalesce(v.next_start - interval 1 microsecond, timestamp '9999-12-31 23:59:59') as _fivetran_end,
                    v.next_start is null as _fivetran_active,
                    timestamp '2026-01-01 00:00:00' as _fivetran_synced,
                    v.stage_name, v.amount, v.close_date, {kept}
                from versions as v
                inner join {_read(con, source, "opportunity")} as o on o.id = v.opportunity_id
                """
            )
            counts[f"{history_schema}.opportunity"] = scalar(
                con, f"select count(*) from {quote_identifier(history_schema)}.opportunity"
            )
    return counts
