"""The `gx` engine: Great Expectations on pandas, on each column's value frequencies (see the
package docstring for why), through an ephemeral context (nothing on disk).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from revops.quality.postgres import DUCKDB, PostgresTarget
from revops.quality.results import Example, ExpectationResult, render_value
from revops.quality.suites import (
    EXAMPLE_LIMIT,
    GX_AGGREGATE_TYPES,
    GX_TABLE_TYPES,
    ROW_COUNT,
    Expectation,
    _bound,
)
from revops.quality.tables import Table
from revops.sql import quote_identifier

_preload_lock = threading.Lock()
_preloading: threading.Thread | None = None


def _import_great_expectations() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations  # noqa: F401
    from great_expectations.expectations.expectation_configuration import (  # noqa: F401
        ExpectationConfiguration,
    )


def preload_great_expectations() -> None:
    """Start importing Great Expectations in a background thread, once per process.

    Importing it takes seconds (scipy.stats, pandas, its ~60 expectations); a run calls this
    when it starts ingesting, whose work is DuckDB's (outside the GIL), so the gate after it
    finds GX imported. A failed import here is not an error: the gate imports it again and
    says what failed."""
    global _preloading
    with _preload_lock:
        if _preloading is not None:
            return
        _preloading = threading.Thread(target=_quietly_import, name="preload-great-expectations", daemon=True)
        _preloading.start()


def _quietly_import() -> None:
    with contextlib.suppress(Exception):  # the gate's own import reports what failed
        _import_great_expectations()


class GxRunner:
    """Great Expectations on pandas, through an ephemeral context (nothing on disk).

    GX is imported on first use: it takes seconds to import, and the Dagster
    definitions import this module.
    """

    def __init__(self) -> None:
        self._context: Any = None
        self._gx: Any = None
        self._datasource: Any = None
        self._batch_definitions: dict[str, Any] = {}

    def _start(self) -> None:
        if self._context is not None:
            return
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import logging

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._datasource = self._add_datasource()

    def _add_datasource(self) -> Any:
        """Where the frames are validated: pandas here; PostgreSQL's SQL datasource in the subclass."""
        return self._context.data_sources.add_pandas("revops_quality_gate")

    def _batch(self, name: str, frame: Any) -> Any:
        if name not in self._batch_definitions:
            asset = self._datasource.add_dataframe_asset(name=name)
            self._batch_definitions[name] = asset.add_batch_definition_whole_dataframe("whole")
        return self._batch_definitions[name].get_batch(batch_parameters={"dataframe": frame})

    def _validate(self, name: str, frame: Any, items: list[tuple[Expectation, dict]]) -> list[Any]:
        """GX results of `items` on `frame`, in the order of `items`."""
        return self._validate_batch(self._batch(name, frame), name, items, {"result_format": "COMPLETE"})

    def _validate_batch(
        self, batch: Any, name: str, items: list[tuple[Expectation, dict]], result_format: dict
    ) -> list[Any]:
        """GX results of `items` on `batch`, in the order of `items`.

        A GX suite keeps one of equal expectations, so equal ones are validated once.
        """
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        suite = self._gx.ExpectationSuite(name=name)
        keys = [json.dumps([exp.type, kwargs], sort_keys=True, default=str) for exp, kwargs in items]
        first: dict[str, int] = {}
        for index, ((exp, kwargs), key) in enumerate(zip(items, keys, strict=False)):
            if key in first:
                continue
            first[key] = index
            config = ExpectationConfiguration(type=exp.type, kwargs=kwargs, meta={"revops_index": index})
            suite.add_expectation(config.to_domain_obj())
        validation = batch.validate(suite, result_format=result_format)
        by_index = {r.expectation_config.meta["revops_index"]: r for r in validation.results}
        return [by_index[first[key]] for key in keys]

    def validate(
        self, table: Table, items: list[tuple[Expectation, dict]]
    ) -> Iterator[tuple[Expectation, ExpectationResult]]:
        """Yield (expectation, ExpectationResult) for the gx expectations of one table."""
        if not items:
            return
        self._start()
        table_items = [(e, kw) for e, kw in items if e.type in GX_TABLE_TYPES]
        if table_items:
            frame = table.con.execute(f"select * from {table.qualified} limit 0").df()
            for (exp, kwargs), result in zip(
                table_items, self._validate(f"{table.display}.columns", frame, table_items), strict=False
            ):
                yield exp, self._table_result(table, exp, kwargs, result)
        by_column: dict[str, list[tuple[Expectation, dict]]] = {}
        for exp, kwargs in items:
            if exp.type not in GX_TABLE_TYPES:
                by_column.setdefault(str(exp.column), []).append((exp, kwargs))
        for column, column_items in by_column.items():
            missing = table.missing([column])
            if missing:
                for exp, _ in column_items:
                    yield (
                        exp,
                        ExpectationResult(
                            exp, False, table.row_count, (), f"{exp.description}: column {column} is missing"
                        ),
                    )
                continue
            temporal = _is_temporal(table.types[column]) or any(
                _has_temporal_bound(kw) for _, kw in column_items
            )
            projection = _projection(column, table.types[column], temporal)
            frame = table.con.execute(
                f"select {projection} as {quote_identifier(column)}, count(*) as {ROW_COUNT} "
                f"from {table.qualified} group by all"
            ).df()
            gx_items = [(exp, gx_kwargs(kw, temporal)) for exp, kw in column_items]
            results = self._validate(f"{table.display}.{column}", frame, gx_items)
            for (exp, kwargs), result in zip(column_items, results, strict=False):
                yield exp, self._column_result(table, exp, kwargs, result, frame, projection)

    def _table_result(
        self, table: Table, exp: Expectation, kwargs: Mapping[str, Any], result: Any
    ) -> ExpectationResult:
        return table_result(table, exp, kwargs, result)

    def _column_result(
        self,
        table: Table,
        exp: Expectation,
        kwargs: Mapping[str, Any],
        result: Any,
        frame: Any,
        projection: str,
    ) -> ExpectationResult:
        error = _gx_error(result)
        if error:
            return ExpectationResult(exp, False, None, (), f"{exp.description}: {error}")
        info = result.result or {}
        if exp.type in GX_AGGREGATE_TYPES:
            if result.success:
                return ExpectationResult(exp, True)
            return self._aggregate_failure(table, exp, kwargs, info, frame, projection)
        index = info.get("unexpected_index_list") or []
        bad = frame.loc[list(index)]
        failing = int(bad[ROW_COUNT].sum()) if len(bad) else 0
        if exp.type == "expect_column_values_to_not_be_null":
            considered = int(frame[ROW_COUNT].sum())
        else:
            considered = int(frame.loc[frame[exp.column].notna(), ROW_COUNT].sum())
        if _passes(kwargs, failing, considered):
            return ExpectationResult(exp, True)
        examples = _examples_for_values(table, exp.column, projection, bad[[exp.column]])
        return ExpectationResult(exp, False, failing, examples, _values_detail(exp, len(bad)))

    def _aggregate_failure(
        self,
        table: Table,
        exp: Expectation,
        kwargs: Mapping[str, Any],
        info: Mapping[str, Any],
        frame: Any,
        projection: str,
    ) -> ExpectationResult:
        """A minimum or maximum out of bounds: the rows that hold it are the examples; for
        a stale maximum (freshness) every row is older than the bound, so all count."""
        detail = _aggregate_detail(exp, kwargs, info)
        if exp.type not in ("expect_column_max_to_be_between", "expect_column_min_to_be_between"):
            return ExpectationResult(exp, False, None, (), detail)
        values = frame[exp.column]
        bounds_kw = gx_kwargs(kwargs, str(values.dtype).startswith("datetime"))
        outside = values.notna() & False
        if bounds_kw.get("min_value") is not None:
            outside |= values < bounds_kw["min_value"]
        if bounds_kw.get("max_value") is not None:
            outside |= values > bounds_kw["max_value"]
        failing = int(frame.loc[outside, ROW_COUNT].sum())
        extreme = values.max() if exp.type == "expect_column_max_to_be_between" else values.min()
        examples = _examples_for_values(
            table, exp.column, projection, frame.loc[values == extreme, [exp.column]]
        )
        return ExpectationResult(exp, False, failing, examples, detail)


def table_result(table: Table, exp: Expectation, kwargs: Mapping[str, Any], result: Any) -> ExpectationResult:
    """A table expectation's result (a column exists, the columns match a set), either engine."""
    error = _gx_error(result)
    if error:
        return ExpectationResult(exp, False, None, (), f"{exp.description}: {error}")
    if result.success:
        return ExpectationResult(exp, True)
    detail = exp.description
    observed = (result.result or {}).get("details", {}).get("mismatched")
    if observed:
        detail += f" ({json.dumps(observed, default=str)})"
    return ExpectationResult(exp, False, table.row_count, (), detail)


def _passes(kwargs: Mapping[str, Any], failing: int, considered: int) -> bool:
    mostly = float(kwargs.get("mostly", 1.0))
    return failing == 0 or (considered > 0 and failing / considered <= 1 - mostly)


def _values_detail(exp: Expectation, distinct_bad_values: int) -> str:
    detail = exp.description
    if distinct_bad_values > 1:
        detail += f" ({distinct_bad_values:,} distinct values)"
    return detail


def _aggregate_detail(exp: Expectation, kwargs: Mapping[str, Any], info: Mapping[str, Any]) -> str:
    observed = info.get("observed_value")
    detail = f"{exp.description}: it is {render_value(observed)}"
    bounds = [b for b in (kwargs.get("min_value"), kwargs.get("max_value")) if b is not None]
    if bounds:
        detail += f", expected within [{_bound(kwargs.get('min_value'))}, {_bound(kwargs.get('max_value'))}]"
    return detail


def _gx_error(result: Any) -> str | None:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return f"the check could not run ({info.get('exception_message')})"
    for value in info.values():  # GX 1.x: one entry per metric
        if isinstance(value, dict) and value.get("raised_exception"):
            return f"the check could not run ({value.get('exception_message')})"
    return None


def _is_temporal(duckdb_type: str) -> bool:
    return duckdb_type == "DATE" or duckdb_type.startswith("TIMESTAMP")


def _has_temporal_bound(kwargs: Mapping[str, Any]) -> bool:
    values = [kwargs.get("min_value"), kwargs.get("max_value"), *(kwargs.get("value_set") or [])]
    return any(isinstance(v, dt.date) for v in values)


def _projection(column: str, duckdb_type: str, temporal: bool, engine: str = DUCKDB) -> str:
    """Dates of timestamps (UTC, as stored): plausibility and freshness are by day. The
    same SQL on both engines, but for text holding dates (PostgreSQL has no try_cast)."""
    col = quote_identifier(column)
    if not temporal:
        return col
    if duckdb_type == "DATE":
        day = col
    elif duckdb_type.startswith("TIMESTAMP"):
        day = f"cast({col} as date)"
    elif engine == DUCKDB:
        day = f"cast(try_cast({col} as timestamp) as date)"
    else:
        day = f"(case when {col} ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}' then cast(substr({col}, 1, 10) as date) end)"
    # pandas cannot hold infinity or years far out: such days become the nearest bound,
    # which fails every plausibility range and keeps the row findable for the examples
    low, high = "date '1700-01-01'", "date '2200-12-31'"
    return f"(case when {day} < {low} then {low} when {day} > {high} then {high} else {day} end)"


def gx_kwargs(kwargs: Mapping[str, Any], temporal: bool) -> dict[str, Any]:
    """Dates become datetimes: DuckDB dates arrive in pandas as datetime64."""
    out = dict(kwargs)
    if temporal:
        for key in ("min_value", "max_value"):
            value = out.get(key)
            if isinstance(value, str):
                value = dt.date.fromisoformat(value[:10])
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                out[key] = dt.datetime(value.year, value.month, value.day)
    if isinstance(out.get("value_set"), (set, tuple, list)):
        out["value_set"] = [_as_datetime(v) if temporal else v for v in out["value_set"]]
    return out


def _as_datetime(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def _examples_for_values(
    table: Table, column: str | None, projection: str, bad_values: Any
) -> tuple[Example, ...]:
    """Up to five rows holding one of the bad values, in file order, with their source."""
    if not len(bad_values):
        return ()
    has_null = bool(bad_values[column].isna().any())
    values = bad_values[bad_values[column].notna()]
    con = table.con
    extra = f", {table.example_select()}" if table.example_columns else ""
    conditions = []
    view = f"__revops_bad_values_{abs(hash((table.display, column))) % 10**8}"
    if len(values):
        con.register(view, values)
        conditions.append(f"{projection} in (select {quote_identifier(column)} from {view})")
    if has_null:
        conditions.append(f"{projection} is null")
    try:
        return table.examples(
            f"select {quote_identifier(column)}{extra} from {table.qualified} where {' or '.join(conditions)}"
            f"{table.order_by()} limit {EXAMPLE_LIMIT}"
        )
    finally:
        if len(values):
            con.unregister(view)


# --------------------------------------------------------------------------- PostgreSQL

VALUE = "__revops_value"  # the checked column as stored (the examples show it)


class PostgresGxRunner(GxRunner):
    """Great Expectations' SQL datasource for PostgreSQL: every expectation runs as SQL in
    PostgreSQL on the table itself, no rows leave the database but the failing ones.

    Table expectations run on a table asset. Column expectations run on one query asset
    per column: the live rows (soft-deleted ones left out), the column projected as on
    DuckDB (dates of timestamps, far-out days at the nearest bound), the stored value and
    the example columns beside it as GX's unexpected-index columns, so the failing rows,
    their count and their examples come from GX. The outcome is the DuckDB engine's for
    the same data (tests/portability/test_postgres_gate.py).
    """

    def __init__(self, target: PostgresTarget) -> None:
        super().__init__()
        self.target = target
        self._assets = 0

    def _add_datasource(self) -> Any:
        return self._context.data_sources.add_postgres(
            "revops_raw_gate", connection_string=self.target.sqlalchemy_url()
        )

    def _asset_name(self, name: str) -> str:
        self._assets += 1
        return f"{name}#{self._assets}"

    def validate(
        self, table: Table, items: list[tuple[Expectation, dict]]
    ) -> Iterator[tuple[Expectation, ExpectationResult]]:
        if not items:
            return
        self._start()
        table_items = [(e, kw) for e, kw in items if e.type in GX_TABLE_TYPES]
        if table_items:
            with warnings.catch_warnings():  # GX 1.x deprecates schema_name for one per datasource
                warnings.simplefilter("ignore", DeprecationWarning)
                asset = self._datasource.add_table_asset(
                    name=self._asset_name(f"{table.display}.columns"),
                    table_name=table.name,
                    schema_name=table.schema,
                )
            batch = asset.add_batch_definition_whole_table("whole").get_batch()
            results = self._validate_batch(batch, table.display, table_items, {"result_format": "SUMMARY"})
            for (exp, kwargs), result in zip(table_items, results, strict=False):
                yield exp, table_result(table, exp, kwargs, result)
        by_column: dict[str, list[tuple[Expectation, dict]]] = {}
        for exp, kwargs in items:
            if exp.type not in GX_TABLE_TYPES:
                by_column.setdefault(str(exp.column), []).append((exp, kwargs))
        examples = [f"__revops_example_{i}" for i in range(len(table.example_columns))]
        for column, column_items in by_column.items():
            missing = table.missing([column])
            if missing:
                for exp, _ in column_items:
                    yield (
                        exp,
                        ExpectationResult(
                            exp, False, table.row_count, (), f"{exp.description}: column {column} is missing"
                        ),
                    )
                continue
            temporal = _is_temporal(table.types[column]) or any(
                _has_temporal_bound(kw) for _, kw in column_items
            )
            col = quote_identifier(column)
            selected = [
                f"{_projection(column, table.types[column], temporal, table.engine)} as {col}",
                f"{col} as {VALUE}",
                *(
                    f"{quote_identifier(c)} as {e}"
                    for c, e in zip(table.example_columns, examples, strict=True)
                ),
            ]
            query = f"select {', '.join(selected)} from ({table.live_rows()}) as live_rows"
            asset = self._datasource.add_query_asset(
                name=self._asset_name(f"{table.display}.{column}"), query=query
            )
            batch = asset.add_batch_definition_whole_table("whole").get_batch()
            result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": [VALUE, *examples]}
            gx_items = [(exp, _date_kwargs(kw, temporal)) for exp, kw in column_items]
            results = self._validate_batch(batch, f"{table.display}.{column}", gx_items, result_format)
            for (exp, kwargs), result in zip(column_items, results, strict=False):
                yield exp, self._query_result(table, exp, kwargs, result, query, examples)

    def _query_result(
        self,
        table: Table,
        exp: Expectation,
        kwargs: Mapping[str, Any],
        result: Any,
        query: str,
        example_names: list[str],
    ) -> ExpectationResult:
        error = _gx_error(result)
        if error:
            return ExpectationResult(exp, False, None, (), f"{exp.description}: {error}")
        info = result.result or {}
        column = str(exp.column)
        if exp.type in GX_AGGREGATE_TYPES:
            if result.success:
                return ExpectationResult(exp, True)
            return self._query_aggregate_failure(table, exp, kwargs, info, query, example_names)
        failing = int(info.get("unexpected_count") or 0)
        elements = int(info.get("element_count") or 0)
        considered = (
            elements
            if exp.type == "expect_column_values_to_not_be_null"
            else elements - int(info.get("missing_count") or 0)
        )
        if _passes(kwargs, failing, considered):
            return ExpectationResult(exp, True)
        rows = list(info.get("unexpected_index_list") or [])
        distinct = len({_hashable(row.get(column)) for row in rows})
        rows.sort(key=lambda row: tuple(_order_key(row.get(e)) for e in example_names))
        examples = tuple(
            Example(row.get(VALUE), table.source_of([row.get(e) for e in example_names]))
            for row in rows[:EXAMPLE_LIMIT]
        )
        return ExpectationResult(exp, False, failing, examples, _values_detail(exp, distinct))

    def _query_aggregate_failure(
        self,
        table: Table,
        exp: Expectation,
        kwargs: Mapping[str, Any],
        info: Mapping[str, Any],
        query: str,
        example_names: list[str],
    ) -> ExpectationResult:
        """As on DuckDB: the rows holding the minimum or maximum are the examples, the rows
        outside the bounds the failing ones."""
        detail = _aggregate_detail(exp, kwargs, info)
        if exp.type not in ("expect_column_max_to_be_between", "expect_column_min_to_be_between"):
            return ExpectationResult(exp, False, None, (), detail)
        col = quote_identifier(str(exp.column))
        bounds = _date_kwargs(kwargs, True)
        outside, params = [], []
        if bounds.get("min_value") is not None:
            outside.append(f"{col} < ?")
            params.append(bounds["min_value"])
        if bounds.get("max_value") is not None:
            outside.append(f"{col} > ?")
            params.append(bounds["max_value"])
        con = table.con
        where = " or ".join(outside) or "false"
        failing = int(con.execute(f"select count(*) from ({query}) as q where {where}", params).fetchone()[0])
        extreme = "max" if exp.type == "expect_column_max_to_be_between" else "min"
        order = ", ".join([*example_names, VALUE])
        rows = con.execute(
            f"select {VALUE}, {', '.join(example_names) or 'null'} from ({query}) as q "
            f"where {col} = (select {extreme}({col}) from ({query}) as e) order by {order} limit {EXAMPLE_LIMIT}"
        ).fetchall()
        examples = tuple(
            Example(row[0], table.source_of(list(row[1:])) if example_names else "") for row in rows
        )
        return ExpectationResult(exp, False, failing, examples, detail)


def _date_kwargs(kwargs: Mapping[str, Any], temporal: bool) -> dict[str, Any]:
    """Bounds of a temporal column as dates (the projected column is a date in PostgreSQL)."""
    out = dict(kwargs)
    if temporal:
        for key in ("min_value", "max_value"):
            value = out.get(key)
            if isinstance(value, str):
                out[key] = dt.date.fromisoformat(value[:10])
            elif isinstance(value, dt.datetime):
                out[key] = value.date()
    return out


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _order_key(value: Any) -> tuple[bool, Any]:
    """How SQL orders example rows (nulls last), for GX's unordered failing rows."""
    return (value is None, value if value is not None else 0)
