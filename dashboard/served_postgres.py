"""Reading the marts served in PostgreSQL (REVOPS_SERVE_ENGINE=postgres): the same pages, the
same DuckDB SQL.

The publisher (`revops.publish.postgres`) serves each publish as a schema (`revops_served`, and
`revops_served__<publish id>` once replaced). A page load asks which publish is served now (one
short read of `revops_served.served_publish`: the stamp its cache is keyed on), then reads the
tables it needs from PostgreSQL, read-only, into an in-memory DuckDB of that publish (psycopg2 ->
Arrow), where its SQL runs unchanged: `marts.<mart>`, `main.publish_log`, `main.alerts`.

- A page never mixes two publishes: the DuckDB of publish P only ever receives tables of P. A
  table asked for after a later publish replaced P is read from P's kept schema; if that is gone
  too (pruned), the page says the day is no longer kept.
- Tables are copied once per publish and process (at most CACHED_PUBLISHES publishes are held),
  when a page first needs them (`require`, or a `marts.<name>` its SQL names).
- Nothing is written to PostgreSQL: every transaction is READ ONLY, and a reader holds its
  locks only while it copies (the publisher's swap waits for open readers, see the publisher).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from revops.publish.postgres_served import (
    PUBLISH_MARKER,
    PostgresServing,
    connect,
    copy_into_duckdb,
    kept_days_postgres,
    schemas_named,
    served_publish,
    tables_in,
)
from revops.publish.served import KeptDay
from revops.sql import quote_identifier

SCHEME = "postgresql:"
CACHED_PUBLISHES = 3
_MART_NAMES = re.compile(r'\bmarts"?\s*\.\s*"?([A-Za-z_][A-Za-z0-9_]*)')


class PostgresReadError(RuntimeError):
    """PostgreSQL cannot be reached or read (the message says which and why)."""


class PublishGone(RuntimeError):
    """The publish a page reads was replaced and its kept schema dropped since."""


@dataclass(frozen=True)
class PublishStamp:
    """What identifies the marts served now: the publish id (a new publish, a new stamp)."""

    publish_id: str


def location(serving: PostgresServing) -> Path:
    """The served schema as the path-like the pages print and hand back (`postgresql:<db>/<schema>`)."""
    database = re.search(r"dbname='?([^' ]+)", serving.dsn)
    return Path(f"{SCHEME}{database.group(1) if database else 'postgres'}/{serving.served_schema}")


def is_location(path: Path | str) -> bool:
    return str(path).startswith(SCHEME)


def _read_only(con: Any) -> None:
    con.set_session(readonly=True, autocommit=False)


def current_stamp(serving: PostgresServing) -> PublishStamp | None:
    """The publish served now; None when nothing was published to PostgreSQL yet."""
    try:
        with connect(serving.dsn) as con:
            _read_only(con)
            with con.cursor() as cur:
                row = served_publish(cur, serving)
            con.rollback()
    except Exception as error:
        raise PostgresReadError(f"{serving.describe()} cannot be read: {error}") from error
    return PublishStamp(row["publish_id"]) if row else None


def kept_days(serving: PostgresServing) -> list[KeptDay]:
    try:
        return kept_days_postgres(serving)
    except Exception as error:
        raise PostgresReadError(f"{serving.describe()} cannot be read: {error}") from error


class _Publish:
    """One publish's tables in an in-memory DuckDB (catalog `served`), filled as pages ask."""

    def __init__(self, serving: PostgresServing, publish_id: str, schema: str | None):
        self.serving = serving
        self.publish_id = publish_id
        self.schema = schema  # a kept schema (a past day); None: the served one while it is this publish
        self.database = duckdb.connect(config={"threads": 2})
        self.database.execute("attach ':memory:' as served")
        self.database.execute("use served")
        self.lock = threading.Lock()
        self.loaded: set[str] = set()
        self.marts: set[str] = set()
        self._read(["main.publish_log", "main.alerts"], listing=True)

    def _source_schema(self, cur: Any) -> str:
        """Where this publish's tables are now: the served schema while it is served, else its kept one."""
        if self.schema is not None:
            return self.schema
        current = served_publish(cur, self.serving)
        if current is not None and current["publish_id"] == self.publish_id:
            return self.serving.served_schema
        kept = self.serving.kept_schema(self.publish_id)
        if kept not in schemas_named(cur, self.serving.served_schema):
            raise PublishGone(f"publish {self.publish_id} is no longer kept in {self.serving.describe()}")
        return kept

    def _read(self, names: Iterable[str], *, listing: bool = False) -> None:
        wanted = [n for n in dict.fromkeys(names) if n not in self.loaded]
        if not wanted and not listing:
            return
        history = quote_identifier(self.serving.history_schema)
        try:
            with connect(self.serving.dsn) as con:
                _read_only(con)
                with con.cursor() as cur:
                    schema = self._source_schema(cur)
                    if listing:
                        self.marts = {t for t in tables_in(cur, schema) if t != PUBLISH_MARKER}
                    sources = {}
                    for name in wanted:
                        kind, table = name.split(".", 1)
                        if kind == "main":
                            sources[name] = f"{history}.{quote_identifier(table)}"
                        elif table in self.marts:
                            sources[name] = f"{quote_identifier(schema)}.{quote_identifier(table)}"
                    copy_into_duckdb(cur, self.database, sources)
                con.rollback()
        except PublishGone:
            raise
        except Exception as error:
            raise PostgresReadError(f"{self.serving.describe()} cannot be read: {error}") from error
        self.loaded.update(sources)

    def ensure(self, names: Iterable[str]) -> None:
        with self.lock:
            self._read(names)

    def ensure_in_sql(self, sql: str) -> None:
        self.ensure(f"marts.{m}" for m in _MART_NAMES.findall(sql) if m in self.marts)

    def tables(self) -> set[str]:
        return {f"marts.{m}" for m in self.marts} | {"main.publish_log", "main.alerts"}


_publishes: OrderedDict[tuple[str, str, str | None], _Publish] = OrderedDict()
_publishes_lock = threading.Lock()


def publish_database(serving: PostgresServing, version: str | None) -> _Publish:
    """The in-memory DuckDB of the publish served now (`version` None) or of a kept day's schema."""
    if version is None:
        stamp = current_stamp(serving)
        if stamp is None:
            raise PublishGone(f"nothing has been published to {serving.describe()} yet")
        key = (serving.dsn, stamp.publish_id, None)
    else:
        key = (serving.dsn, version, version)
    with _publishes_lock:
        found = _publishes.get(key)
        if found is not None:
            _publishes.move_to_end(key)
            return found
    if version is None:
        publish = _Publish(serving, key[1], None)
    else:
        publish = _Publish(serving, _kept_publish_id(serving, version), version)
    with _publishes_lock:
        _publishes[key] = publish
        while len(_publishes) > CACHED_PUBLISHES:
            _, old = _publishes.popitem(last=False)
            old.database.close()
    return publish


def _kept_publish_id(serving: PostgresServing, schema: str) -> str:
    try:
        with connect(serving.dsn) as con:
            _read_only(con)
            with con.cursor() as cur:
                if schema not in schemas_named(cur, serving.served_schema):
                    raise PublishGone(f"{schema} is no longer kept in {serving.describe()}")
                cur.execute(f"select publish_id from {quote_identifier(schema)}.{PUBLISH_MARKER} limit 1")
                row = cur.fetchone()
            con.rollback()
    except PublishGone:
        raise
    except Exception as error:
        raise PostgresReadError(f"{serving.describe()} cannot be read: {error}") from error
    if row is None:
        raise PublishGone(f"{schema} holds no publish")
    return row[0]


def attach_metric_catalog(publish: _Publish, cursor: Any, catalog: str, sql: str) -> None:
    """The catalog the metric layer's compiled SQL names (`<catalog>.marts.<mart>`): views over
    this publish's tables, in `cursor`'s database."""
    publish.ensure_in_sql(sql)
    with publish.lock:
        attached = {
            row[0] for row in cursor.execute("select database_name from duckdb_databases()").fetchall()
        }
        if catalog not in attached:
            cursor.execute(f"attach ':memory:' as {quote_identifier(catalog)}")
            cursor.execute(f"create schema {quote_identifier(catalog)}.marts")
        for name in sorted(publish.loaded):
            kind, table = name.split(".", 1)
            if kind == "marts":
                cursor.execute(
                    f"create or replace view {quote_identifier(catalog)}.marts.{quote_identifier(table)} as "
                    f"select * from served.marts.{quote_identifier(table)}"
                )


def serving_from(environ: Mapping[str, str], served_schema: str) -> PostgresServing:
    from revops.publish.postgres_served import postgres_dsn

    return PostgresServing(dsn=postgres_dsn(environ), served_schema=served_schema)
