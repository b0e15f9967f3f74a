"""Comparing a mart built another way (another engine, another source) with DuckDB's, row by row on its grain.

Shared by the PostgreSQL and Spark portability tests: the grain of each mart is read
from its `unique` or `revops_unique_combination` test in the manifest, both sides are
sorted on it, and every value must match (doubles to 1e-9 relative: summation order
differs between engines; everything else exactly, type included).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from conftest import PROJECT_ROOT

# marts the demo data leaves empty by design (its mapping passes no custom fields through):
# compared all the same, both sides must be empty
EMPTY_ON_THE_DEMO = {"dim_deal_custom_fields"}
# marts compared on some columns only: the DuckDB reference build (tests/conftest.py) loads the
# landing files without recording what the source had, so its source_coverage is the
# "everything tracked" fallback (row counts from staging, no mapped_from); a pipeline build
# records it. What must agree is which columns are tracked.
COMPARED_COLUMNS = {"source_coverage": ["object_name", "column_name", "is_tracked"]}
MART_NAMES = sorted(path.stem for path in (PROJECT_ROOT / "models" / "marts").rglob("*.sql"))
REL_TOL = 1e-9
ABS_TOL = 1e-12  # only matters for values that should be 0


def mart_grains(target_path: Path) -> dict[str, tuple[str, str, list[str]]]:
    """Mart name -> (schema, table, grain columns) from the manifest in `target_path`."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    marts = {
        node["unique_id"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "/models/marts/" in "/" + node["original_file_path"]
    }
    grains: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        attached = node.get("attached_node")
        if node["resource_type"] != "test" or attached not in marts:
            continue
        if meta.get("name") == "unique":
            grains.setdefault(attached, [meta["kwargs"]["column_name"]])
        elif meta.get("name") == "revops_unique_combination":
            grains[attached] = list(meta["kwargs"]["columns"])
    return {node["name"]: (node["schema"], node["alias"], grains.get(uid, [])) for uid, node in marts.items()}


def table_rows(con, sql: str) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of `sql` on a DuckDB connection."""
    result = con.execute(sql)
    return [c[0] for c in result.description], result.fetchall()


def assert_build_ran_every_node(full: list[dict], rerun: list[dict]) -> None:
    """The full build's and the incremental rerun's run_results: a failing node fails
    the fixture's run already; this guards the other way round, that the full build
    really ran seeds, models, snapshots, data tests and unit tests, and that the rerun
    took the incremental path of exactly the incremental model and the snapshot."""
    kinds = {r["unique_id"].split(".")[0] for r in full}
    assert {"seed", "model", "test", "unit_test", "snapshot"} <= kinds
    not_passed = [
        (r["unique_id"], r["status"])
        for r in full + rerun
        # exposures and the metric layer's saved queries are no-ops in a build
        if r["status"] not in {"success", "pass"}
        and not r["unique_id"].startswith(("exposure.", "saved_query."))
    ]
    assert not not_passed, not_passed
    assert {
        r["unique_id"].split(".")[-1] for r in rerun if r["unique_id"].startswith(("model.", "snapshot."))
    } == {
        "fct_deal_snapshots",
        "opportunity_state_snapshot",
    }


def _sort_key(row: tuple, positions: list[int]) -> tuple:
    return tuple((0,) if row[i] is None else (1, row[i]) for i in positions)


def same_value(duck, other) -> bool:
    if duck is None or other is None:
        return duck is None and other is None
    if isinstance(duck, float) or isinstance(other, float):
        if isinstance(duck, bool) or isinstance(other, bool):
            return False
        if math.isnan(duck) or math.isnan(other):
            return math.isnan(duck) and math.isnan(other)
        return math.isclose(duck, other, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return type(duck) is type(other) and duck == other


def _project(table: tuple[list[str], list[tuple]], columns: list[str]) -> tuple[list[str], list[tuple]]:
    positions = [table[0].index(column) for column in columns]
    return columns, [tuple(row[i] for i in positions) for row in table[1]]


def assert_same_mart(
    mart: str,
    grain: list[str],
    duck: tuple[list[str], list[tuple]],
    other: tuple[list[str], list[tuple]],
    engine: str,
    *,
    column_order_matters: bool = True,
) -> None:
    """Fail with the first differences unless `other` (columns, rows) equals `duck`.
    With column_order_matters False, `other`'s columns are matched by name (Spark puts
    partition columns last)."""
    if mart in COMPARED_COLUMNS:
        duck, other = _project(duck, COMPARED_COLUMNS[mart]), _project(other, COMPARED_COLUMNS[mart])
    duck_columns, duck_rows = duck[0], list(duck[1])
    other_columns, other_rows = other[0], list(other[1])
    assert grain, f"{mart} declares no grain (a `unique` or `revops_unique_combination` test)"
    if column_order_matters:
        assert other_columns == duck_columns, f"{mart}: columns differ on {engine}"
    else:
        assert sorted(other_columns) == sorted(duck_columns), f"{mart}: columns differ on {engine}"
        order = [other_columns.index(column) for column in duck_columns]
        other_rows = [tuple(row[i] for i in order) for row in other_rows]

    positions = [duck_columns.index(column) for column in grain]
    duck_rows.sort(key=lambda row: _sort_key(row, positions))
    other_rows.sort(key=lambda row: _sort_key(row, positions))
    assert len(other_rows) == len(duck_rows), (
        f"{mart}: {len(duck_rows)} rows on DuckDB, {len(other_rows)} on {engine}"
    )
    duck_keys = [tuple(row[i] for i in positions) for row in duck_rows]
    other_keys = [tuple(row[i] for i in positions) for row in other_rows]
    assert other_keys == duck_keys, (
        f"{mart}: keys only in DuckDB {sorted(set(duck_keys) - set(other_keys), key=str)[:5]}, "
        f"only in {engine} {sorted(set(other_keys) - set(duck_keys), key=str)[:5]}"
    )
    differences = [
        f"{dict(zip(grain, key, strict=False))} {column}: duckdb {d!r}, {engine} {o!r}"
        for key, duck_row, other_row in zip(duck_keys, duck_rows, other_rows, strict=False)
        for column, d, o in zip(duck_columns, duck_row, other_row, strict=False)
        if not same_value(d, o)
    ]
    assert not differences, f"{mart}: {len(differences)} values differ, e.g.\n" + "\n".join(differences[:10])
    assert duck_rows or mart in EMPTY_ON_THE_DEMO, f"{mart} is empty on the demo data: nothing was compared"
