"""Sources: where the CRM data comes from, conformed into the contract's raw tables.

Three kinds (`REVOPS_SOURCE`):
- `salesforce_files`: the landing folder, one CSV or Parquet file per object (default);
- `fivetran_salesforce`: a Salesforce schema as Fivetran writes it, in a DuckDB database
  attached read-only (`REVOPS_SOURCE_DATABASE`, schema `REVOPS_SOURCE_SCHEMA`);
- `hubspot`: Fivetran's HubSpot schema, the same way.

Whatever the kind, ingestion writes `<raw_schema>.<object>` for every object of
`revops.crm_contract` (absent optional objects as empty tables) and
`<raw_schema>._source_coverage`, so the gate, dbt and publishing do not care where the data
came from. A mapping file per source (`revops.sources.mapping`) says which source column
feeds each contract column.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from revops.crm_contract import CRM_OBJECTS
from revops.sources.conform import SourceError, write_contract_table
from revops.sources.coverage import (
    CoverageRow,
    absent_object_coverage,
    object_coverage,
    untracked_summary,
    write_coverage,
)
from revops.sources.mapping import (
    SOURCE_KINDS,
    MappingError,
    SourceMapping,
    default_mapping_path,
    load_mapping,
)
from revops.sql import quote_identifier, quote_literal, scalar

DEFAULT_SCHEMAS = {"fivetran_salesforce": "salesforce", "hubspot": "hubspot"}
SOURCE_CATALOG = "revops_source"

__all__ = [
    "SOURCE_KINDS",
    "IngestReport",
    "MappingError",
    "ObjectLoad",
    "SourceConfig",
    "SourceError",
    "ingest_source",
]


@dataclass(frozen=True)
class SourceConfig:
    """Where the CRM data is: the kind, and the folder or database and schema."""

    kind: str = "salesforce_files"
    landing_dir: Path | None = None
    # connector kinds: the DuckDB file holding the schema, or a PostgreSQL URL
    # (postgresql://user@host:5432/db) whose schema is read into DuckDB first
    database: Path | str | None = None
    schema: str | None = None  # default: salesforce / hubspot
    history_schema: str | None = "salesforce_history"
    mapping_path: Path | None = None  # default: mappings/<kind>.yml

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise SourceError(f"the source must be one of {', '.join(SOURCE_KINDS)} (got {self.kind!r})")

    @property
    def resolved_schema(self) -> str:
        return self.schema or DEFAULT_SCHEMAS.get(self.kind, "")

    @property
    def location(self) -> str:
        """Where the data is, for people and for the gate's baselines."""
        if self.kind == "salesforce_files":
            return str(Path(self.landing_dir).resolve()) if self.landing_dir else "(no landing folder)"
        if self.is_postgres:
            # never a password in a message or a baseline key
            without_password = re.sub(r"//([^:/@]+):[^@]*@", r"//\1@", str(self.database))
            return f"{without_password}:{self.resolved_schema}"
        return f"{Path(self.database).resolve() if self.database else '(no database)'}:{self.resolved_schema}"

    @property
    def is_postgres(self) -> bool:
        return str(self.database or "").startswith(("postgresql://", "postgres://"))

    @property
    def key(self) -> str:
        """`<kind>:<location>`: a gate baseline belongs to the source it was taken from."""
        return f"{self.kind}:{self.location}"

    def mapping(self) -> SourceMapping:
        return load_mapping(self.mapping_path or default_mapping_path(self.kind), expected_source=self.kind)

    def deal_custom_fields(self) -> list[str]:
        """The opportunity columns the mapping passes through, as raw.opportunity names them."""
        from revops.landing import normalize_column_name

        return [normalize_column_name(c) for c in self.mapping().object("opportunity").pass_through]


@dataclass(frozen=True)
class ObjectLoad:
    object_name: str
    table: str
    row_count: int
    source: str  # the file or table it came from; "" when absent
    is_present: bool
    extra_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # landing files only (revops.landing.LoadResult): reloaded / merged / incremental, the
    # new / changed / unchanged / deleted / older rows (None: no id to compare by) and the
    # files skipped because their content hash is the one already loaded
    load_mode: str | None = None
    counts: dict[str, int] | None = None
    skipped_files: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    loads: list[ObjectLoad]
    coverage: list[CoverageRow]

    @property
    def notices(self) -> list[str]:
        return untracked_summary(self.coverage)


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    *,
    raw_schema: str = "raw",
    loaded_at: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    full_refresh: bool = False,
) -> IngestReport:
    """Conform the source into `<raw_schema>`; raises LandingFileError, SourceError or
    MappingError (each a readable paragraph) when it cannot. `full_refresh`: landing files
    are reloaded whole instead of only what changed (connectors are always reloaded)."""
    loaded_at = (loaded_at or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    mapping = config.mapping()
    say = progress or (lambda line: None)
    if config.kind == "salesforce_files":
        report = _ingest_files(con, config, mapping, raw_schema, loaded_at, say, full_refresh)
    else:
        report = _ingest_connector(con, config, mapping, raw_schema, loaded_at, say)
    write_coverage(con, raw_schema, report.coverage)
    return report


def _ingest_files(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    mapping: SourceMapping,
    raw_schema: str,
    loaded_at: dt.datetime,
    say: Callable[[str], None],
    full_refresh: bool = False,
) -> IngestReport:
    from revops.landing import load_landing_object

    if config.landing_dir is None:
        raise SourceError("the salesforce_files source needs a landing folder (REVOPS_LANDING_DIR)")
    loads, coverage = [], []
    for obj in CRM_OBJECTS.values():
        result = load_landing_object(
            con,
            obj,
            config.landing_dir,
            raw_schema=raw_schema,
            loaded_at=loaded_at,
            mapping=mapping.object(obj.name),
            full_refresh=full_refresh,
        )
        if result is None:
            write_contract_table(
                con, obj, raw_schema, expressions={}, from_sql=None, label="", loaded_at=loaded_at
            )
            coverage += absent_object_coverage(obj, source=config.kind)
            loads.append(ObjectLoad(obj.name, f"{raw_schema}.{obj.name}", 0, "", False))
            say(f"{obj.name}: no file in {config.landing_dir}: an empty input (not tracked)")
            continue
        from revops.landing import normalize_column_name

        wanted = [normalize_column_name(c) for c in mapping.object(obj.name).pass_through]
        missing = [c for c in wanted if c not in result.extra_columns]
        if missing:
            raise SourceError(
                f"the mapping {mapping.path} passes through {', '.join(missing)} of "
                f"{result.source_file.name}, which has no such column"
            )
        coverage += object_coverage(
            obj, source=config.kind, row_count=result.source_rows, mapped_from=result.mapped_from
        )
        loads.append(
            ObjectLoad(
                obj.name,
                result.table,
                result.row_count,
                result.source_file.name,
                True,
                result.extra_columns,
                result.seconds,
                result.load_mode,
                result.counts,
                result.skipped_files,
            )
        )
        say(
            f"{obj.name}: {result.row_count:,} rows from {result.source_file.name} in {result.seconds:.1f} s "
            f"({result.load_mode}: {result.summary()})"
        )
    return IngestReport(loads, coverage)


@contextlib.contextmanager
def _attached_source(
    con: duckdb.DuckDBPyConnection, config: SourceConfig, say: Callable[[str], None]
) -> Iterator[None]:
    """The connector's database attached as SOURCE_CATALOG: a DuckDB file read-only, or a
    PostgreSQL schema (and the history schema) read into a temporary in-memory catalog."""
    if config.database is None:
        raise SourceError(
            f"the source {config.kind} needs the database that holds the connector's schema: set "
            f"REVOPS_SOURCE_DATABASE to the DuckDB file or a postgresql:// URL (the schema is "
            f"REVOPS_SOURCE_SCHEMA, default {config.resolved_schema})"
        )
    if config.is_postgres:
        from revops.warehouse_targets import postgres_schema_tables, postgres_tables_as_parquet

        schemas = [config.resolved_schema] + ([config.history_schema] if config.history_schema else [])
        try:
            names = postgres_schema_tables(str(config.database), schemas)
        except Exception as exc:
            raise SourceError(
                f"cannot read the source database {config.location}: {str(exc).strip()}"
            ) from None
        con.execute(f"attach ':memory:' as {quote_identifier(SOURCE_CATALOG)}")
        try:
            with tempfile.TemporaryDirectory(prefix="revops-source-") as scratch:
                sources = postgres_tables_as_parquet(str(config.database), names, Path(scratch))
                for name in names:
                    schema, table = name.split(".", 1)
                    con.execute(
                        f"create schema if not exists {quote_identifier(SOURCE_CATALOG)}.{quote_identifier(schema)}"
                    )
                    con.execute(
                        f"create table {quote_identifier(SOURCE_CATALOG)}.{quote_identifier(schema)}.{quote_identifier(table)} as "
                        f"select * from {sources[name]}"
                    )
                say(f"read {len(names)} tables of {', '.join(schemas)} from PostgreSQL")
            yield
        finally:
            con.execute(f"detach {quote_identifier(SOURCE_CATALOG)}")
        return
    database = Path(config.database)
    if not database.is_file():
        raise SourceError(f"the source database {database} does not exist (REVOPS_SOURCE_DATABASE)")
    con.execute(
        f"attach {quote_literal(str(database.resolve()))} as {quote_identifier(SOURCE_CATALOG)} (read_only)"
    )
    try:
        yield
    finally:
        con.execute(f"detach {quote_identifier(SOURCE_CATALOG)}")


def _ingest_connector(
    con: duckdb.DuckDBPyConnection,
    config: SourceConfig,
    mapping: SourceMapping,
    raw_schema: str,
    loaded_at: dt.datetime,
    say: Callable[[str], None],
) -> IngestReport:
    schema = config.resolved_schema
    started = time.monotonic()
    with _attached_source(con, config, say):
        has_schema = scalar(
            con,
            "select count(*) from information_schema.schemata where catalog_name = ? and schema_name = ?",
            [SOURCE_CATALOG, schema],
        )
        if not has_schema:
            schemas = [
                r[0]
                for r in con.execute(
                    "select schema_name from information_schema.schemata where catalog_name = ? order by 1",
                    [SOURCE_CATALOG],
                ).fetchall()
            ]
            raise SourceError(
                f"the source database {config.location.rsplit(':', 1)[0]} has no schema {schema!r} "
                f"(it has: {', '.join(schemas) or 'none'}); set REVOPS_SOURCE_SCHEMA"
            )
        if config.kind == "fivetran_salesforce":
            from revops.sources.fivetran_salesforce import conform_fivetran_salesforce

            coverage = conform_fivetran_salesforce(
                con,
                catalog=SOURCE_CATALOG,
                schema=schema,
                history_schema=config.history_schema,
                raw_schema=raw_schema,
                mapping=mapping,
                loaded_at=loaded_at,
            )
        else:
            from revops.sources.hubspot import conform_hubspot
            from revops.sources.mapping import MAPPINGS_DIR

            coverage = conform_hubspot(
                con,
                catalog=SOURCE_CATALOG,
                schema=schema,
                raw_schema=raw_schema,
                mapping=mapping,
                seeds_dir=mapping.seeds_dir or MAPPINGS_DIR.parent / "seeds",
                loaded_at=loaded_at,
            )
    seconds = round(time.monotonic() - started, 3)
    loads = []
    for obj in CRM_OBJECTS.values():
        rows = [r for r in coverage if r.object_name == obj.name]
        present = any(r.is_tracked for r in rows)
        count = rows[0].row_count if rows else 0
        origin = next((r.mapped_from for r in rows if r.mapped_from), "") or ""
        table = origin.rsplit(".", 1)[0] if present else ""
        loads.append(ObjectLoad(obj.name, f"{raw_schema}.{obj.name}", count, table, present, [], seconds))
        say(
            f"{obj.name}: {count:,} rows from {table}"
            if present
            else f"{obj.name}: not in the source (an empty input)"
        )
    return IngestReport(loads, coverage)
