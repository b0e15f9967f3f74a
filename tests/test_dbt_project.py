"""The dbt project's layout: models and seeds one level up, compiled files kept inside target."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from conftest import DBT_PROJECT_DIR, PROJECT_ROOT, run_dbt


def _project_config() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())


def test_models_and_seeds_live_one_level_up():
    config = _project_config()
    assert config["model-paths"] == ["../models"]
    assert config["seed-paths"] == ["../seeds"]


def test_compiled_files_stay_inside_the_target_folder(tmp_path):
    """dbt does not officially support parent model paths: `../models` must not make
    dbt write compiled SQL next to the models or anywhere outside its target folder."""
    target = tmp_path / "target"
    before = {p for p in PROJECT_ROOT.rglob("*.sql") if ".venv" not in p.parts}
    run_dbt(
        ["compile", "--select", "staging"],
        warehouse_path=tmp_path / "compile.duckdb",
        target_path=target,
        dbt_vars={"as_of_date": "2026-11-23"},
    )
    compiled = list(target.rglob("*.sql"))
    assert compiled, "dbt compile wrote no compiled SQL"
    for path in compiled:
        real = Path(os.path.realpath(path))
        assert real.is_relative_to(target.resolve()), f"{path} resolves outside target: {real}"
    after = {p for p in PROJECT_ROOT.rglob("*.sql") if ".venv" not in p.parts}
    written_in_repo = {p for p in after - before if "target" not in p.relative_to(PROJECT_ROOT).parts}
    assert not written_in_repo, f"dbt wrote SQL into the repository: {sorted(written_in_repo)}"
    outside = [
        p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(target) and p.suffix == ".sql"
    ]
    assert not outside


def test_every_node_name_fits_postgres_63_character_identifiers():
    # dbt names a unit test's relation after the test: PostgreSQL cuts identifiers at 63
    too_long = []
    for path in (PROJECT_ROOT / "models").rglob("*.yml"):
        document = yaml.safe_load(path.read_text()) or {}
        for section in ("models", "unit_tests"):
            for node in document.get(section) or []:
                if len(node.get("name", "")) > 63:
                    too_long.append(f"{path.name}: {node['name']} ({len(node['name'])})")
    for path in (PROJECT_ROOT / "models").rglob("*.sql"):
        if len(path.stem) > 63:
            too_long.append(f"{path.name} ({len(path.stem)})")
    assert not too_long, too_long


def test_every_target_parses_to_the_same_node_ids(tmp_path):
    """Dagster maps dbt's events to assets and checks by the node ids of one manifest (parsed
    for DuckDB): a node whose id depends on the adapter (a generic test on a quoted column
    gets `"` on PostgreSQL and a backtick on Spark in its hash) fails a run on the other
    targets with a KeyError. Parsing needs no connection."""
    import importlib.util
    import json

    targets = ["duckdb", "postgres"] + (["spark"] if importlib.util.find_spec("dbt.adapters.spark") else [])
    ids = {}
    for target in targets:
        target_path = tmp_path / target
        run_dbt(
            ["parse", "--target", target],
            warehouse_path=tmp_path / "parse.duckdb",
            target_path=target_path,
            dbt_vars={"as_of_date": "2026-11-23"},
        )
        manifest = json.loads((target_path / "manifest.json").read_text())
        ids[target] = set(manifest["nodes"]) | set(manifest.get("unit_tests", {}))
    for target in targets[1:]:
        assert ids[target] == ids["duckdb"], (
            f"{target}: {sorted(ids[target] ^ ids['duckdb'])[:10]} differ from the DuckDB manifest"
        )
