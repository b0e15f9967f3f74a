"""The `duckdb` engine: the set-based expectations run as SQL (unique and non-null ids, foreign
keys, row count against the last good load, types that parse, GX's `unexpected_rows_expectation`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from revops.quality.postgres import DUCKDB, database_errors
from revops.quality.results import Example, ExpectationResult, RenderedText, render_value
from revops.quality.suites import EXAMPLE_LIMIT, PARAMETER_IN_SQL, Expectation
from revops.quality.tables import Table
from revops.sql import one_row, quote_identifier, scalar


def run_sql_expectation(
    table: Table,
    exp: Expectation,
    kwargs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    baselines: Mapping[str, int],
) -> ExpectationResult:
    try:
        runner = _SQL_RUNNERS[exp.type]
        columns = [kwargs.get("column"), *list(kwargs.get("column_list") or [])]
        missing = table.missing(c for c in columns if c)
        if missing:
            return ExpectationResult(
                exp, False, table.row_count, (), f"{exp.description}: column {', '.join(missing)} is missing"
            )
        return runner(table, exp, kwargs, parameters, baselines)
    except database_errors() as error:
        return ExpectationResult(
            exp, False, None, (), f"{exp.description}: the check could not run ({error})"
        )


def _sql_not_null(
    table: Table,
    exp: Expectation,
    kwargs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    baselines: Mapping[str, int],
) -> ExpectationResult:
    col = quote_identifier(kwargs["column"])
    where = f"from {table.qualified} where {col} is null"
    count = scalar(table.con, f"select count(*) {where}")
    if count == 0:
        return ExpectationResult(exp, True)
    select = f"select {col}" + (f", {table.example_select()}" if table.example_columns else "")
    examples = table.examples(f"{select} {where}{table.order_by()} limit {EXAMPLE_LIMIT}")
    return ExpectationResult(exp, False, count, examples, exp.description)


def _sql_unique(
    table: Table,
    exp: Expectation,
    kwargs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    baselines: Mapping[str, int],
) -> ExpectationResult:
    """Rows whose key appears more than once (nulls count as equal, as in GROUP BY)."""
    columns = list(kwargs.get("column_list") or [kwargs["column"]])
    cols = ", ".join(quote_identifier(c) for c in columns)
    keys = scalar(
        table.con,
        f"select count(*) from (select 1 from {table.qualified} group by {cols} having count(*) > 1) as keys",
    )
    if not keys:
        return ExpectationResult(exp, True)
    counted = (
        f"(select *, count(*) over (partition by {cols}) as __revops_n from {table.qualified}) as counted"
    )
    count = scalar(table.con, f"select count(*) from {counted} where __revops_n > 1")
    extra = f", {table.example_select()}" if table.example_columns else ""
    order = ", ".join([cols] + [quote_identifier(c) for c in table.example_columns])
    rows = table.con.execute(
        f"select {cols}{extra} from {counted} where __revops_n > 1 order by {order} limit {EXAMPLE_LIMIT}"
    ).fetchall()
    width = len(columns)
    examples = tuple(
        Example(
            RenderedText(_render_key(columns, row[:width])) if width > 1 else row[0],
            table.source_of(row[width:]),
        )
        for row in rows
    )
    detail = f"{exp.description}: {keys:,} value{'s appear' if keys != 1 else ' appears'} more than once"
    return ExpectationResult(exp, False, int(count), examples, detail)


def _render_key(columns: Sequence[str], value: Any) -> str:
    values = list(value.values()) if isinstance(value, dict) else list(value or [])
    return "(" + ", ".join(f"{c}={render_value(v)}" for c, v in zip(columns, values, strict=False)) + ")"


def _sql_parse_as_type(
    table: Table,
    exp: Expectation,
    kwargs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    baselines: Mapping[str, int],
) -> ExpectationResult:
    column, type_ = kwargs["column"], str(kwargs["type_"]).upper()
    actual = table.types[column]
    if _same_type(actual, type_):
        return ExpectationResult(exp, True)
    col = quote_identifier(column)
    if table.engine != DUCKDB:
        return _parse_as_type_elsewhere(table, exp, column, type_, actual)
    where = f"from {table.qualified} where {col} is not null and try_cast({col} as {type_}) is null"
    count = scalar(table.con, f"select count(*) {where}")
    if count == 0:
        return ExpectationResult(exp, True)
    select = f"select {col}" + (f", {table.example_select()}" if table.example_columns else "")
    examples = table.examples(f"{select} {where}{table.order_by()} limit {EXAMPLE_LIMIT}")
    return ExpectationResult(exp, False, count, examples, f"{exp.description} (stored as {actual})")


def _parse_as_type_elsewhere(
    table: Table, exp: Expectation, column: str, type_: str, actual: str
) -> ExpectationResult:
    """PostgreSQL has no try_cast (nor pg_input_is_valid before 16): the column's distinct
    values, as text, are tried with DuckDB's own try_cast, so both engines decide alike.
    (The loader types every contract column, so this runs only on tables it did not load.)"""
    import duckdb

    col = quote_identifier(column)
    values = [
        r[0]
        for r in table.con.execute(
            f"select distinct cast({col} as text) from {table.qualified} where {col} is not null"
        ).fetchall()
    ]
    scratch = duckdb.connect()
    try:
        scratch.execute("create table v (value varchar)")
        scratch.executemany("insert into v values (?)", [[v] for v in values])
        bad = [
            r[0]
            for r in scratch.execute(
                f"select value from v where try_cast(value as {type_}) is null"
            ).fetchall()
        ]
    finally:
        scratch.close()
    if not bad:
        return ExpectationResult(exp, True)
    where = f"from {table.qualified} where cast({col} as text) = any(?)"
    count = scalar(table.con, f"select count(*) {where}", [bad])
    select = f"select {col}" + (f", {table.example_select()}" if table.example_columns else "")
    examples = table.examples(f"{select} {where}{table.order_by()} limit {EXAMPLE_LIMIT}", [bad])
    return ExpectationResult(exp, False, count, examples, f"{exp.description} (stored as {actual})")


def _same_type(actual: str, declared: str) -> bool:
    aliases = {
        "INTEGER": "BIGINT",
        "INT": "BIGINT",
        "FLOAT": "DOUBLE",
        "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    }
    return aliases.get(actual, actual) == aliases.get(declared, declared)


def _sql_foreign_key(
    table: Table,
    exp: Expectation,
    kwargs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    baselines: Mapping[str, int],
) -> ExpectationResult:
    col = quote_identifier(kwargs["column"])
    other = Table(table.con, table.schema, kwargs["to_table"], ())
    to_column = kwargs.get("to_column", "id")
    if not other.exists or other.missing([to_column]):
        return ExpectationResult(
            exp, False, None, (), f"{exp.description}: {other.display}.{to_column} does not exist"
        )
    where = (
        f"from {table.qualified} t where t.{col} is not null and not exists "
        f"(select 1 from {other.qualified} o where o.{quote_identifier(to_column)} = t.{col})"
    )
    count, values = one_row(table.con, f"select count(*), count(distinct t.{col}) {where}")
    if count == 0:
        return ExpectationResult(exp, True)
    extra = ", ".join(f"t.{quote_identifier(c)}" for c in table.example_columns)
    order = f" order by {extra}" if extra else ""
    examples = table.examples(
        f"select t.{col}{', ' + extra if extra else ''} {where}{order} limit {EXAMPLE_LIMIT}"
    )
    detail = f"{exp.description} ({values:,} unknown value{'s' if values != 1 else ''})"
    return ExpectationResult(exp, False, count, examples, detail)


def _sql_row_count(
    table: Table,
    exp: Expectation,
    kwargs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    baselines: Mapping[str, int],
) -> ExpectationResult:
    baseline = baselines.get(table.name)
    rows = table.physical_row_count
    if not baseline:
        return ExpectationResult(exp, True, detail="no earlier good load to compare with")
    max_drop = float(kwargs.get("max_drop_rate", 0.5))
    if rows > baseline * (1 - max_drop):
        return ExpectationResult(exp, True)
    drop = 1 - rows / baseline
    detail = (
        f"{table.display} has {rows:,} rows, {drop:.0%} fewer than the {baseline:,} of the last good "
        f"load (losing {max_drop:.0%} or more is blocking: REVOPS_GATE_MAX_ROW_DROP_RATE)"
    )
    return ExpectationResult(exp, False, baseline - rows, (), detail)


def _sql_unexpected_rows(
    table: Table,
    exp: Expectation,
    kwargs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    baselines: Mapping[str, int],
) -> ExpectationResult:
    query = (
        kwargs["unexpected_rows_query"]
        .replace("{batch}", table.qualified)
        .replace("{schema}", quote_identifier(table.schema))
    )
    names = sorted(set(PARAMETER_IN_SQL.findall(query)))
    params = {n: parameters[n] for n in names}
    con = table.con
    count = scalar(con, f"select count(*) from ({query}) as unexpected", params)
    if count == 0:
        return ExpectationResult(exp, True)
    described = con.execute(f"select * from ({query}) as unexpected limit 0", params)
    columns = [d[0] for d in described.description]
    described.fetchall()
    source_cols = [c for c in table.example_columns if c in columns]
    # the first rows in file order, on either engine (without an order the two pick any)
    order = f" order by {', '.join(quote_identifier(c) for c in source_cols)}" if source_cols else ""
    rows = con.execute(
        f"select * from ({query}) as unexpected{order} limit {EXAMPLE_LIMIT * 20}", params
    ).fetchall()
    if source_cols:
        rows.sort(key=lambda r: tuple(_sort_key(r[columns.index(c)]) for c in source_cols))
    value_cols = [c for c in columns if c not in ("_source_file", "_source_row")][:4]
    examples = []
    for row in rows[:EXAMPLE_LIMIT]:
        record = dict(zip(columns, row, strict=False))
        value = ", ".join(f"{c}={render_value(record[c])}" for c in value_cols)
        source = table.source_of([record.get(c) for c in table.example_columns]) if source_cols else ""
        examples.append(Example(RenderedText(value), source))
    return ExpectationResult(exp, False, count, tuple(examples), exp.description)


def _sort_key(value: Any) -> tuple[bool, Any]:
    return (value is None, str(value) if not isinstance(value, (int, float)) else value)


_SQL_RUNNERS = {
    "expect_column_values_to_not_be_null": _sql_not_null,
    "expect_column_values_to_be_unique": _sql_unique,
    "expect_compound_columns_to_be_unique": _sql_unique,
    "expect_column_values_to_parse_as_type": _sql_parse_as_type,
    "expect_foreign_key_to_resolve": _sql_foreign_key,
    "expect_table_row_count_to_not_drop": _sql_row_count,
    "unexpected_rows_expectation": _sql_unexpected_rows,
}
