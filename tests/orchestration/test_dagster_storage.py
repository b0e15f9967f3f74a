"""The instance storage dagster.yaml selects: Dagster's SQLite files, written through kept
connections. Events written by one instance are read by another (the UI's), a wipe leaves
no connection on a deleted file, and a long-lived reader keeps a bounded number of shards."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from orchestration.dagster_storage import KeptEngineSqliteEventLogStorage, RevOpsSqliteStorage

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dg.asset
def an_asset() -> int:
    return 1


def _instance(home: Path) -> dg.DagsterInstance:
    """An instance configured with the repository's dagster.yaml storage, in `home`."""
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    storage = config["storage"]
    storage["custom"]["config"]["base_dir"] = str(home / "storage")
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage}))
    return dg.DagsterInstance.from_config(str(home))


def test_dagster_yaml_selects_the_kept_connection_storage_and_another_instance_reads_its_events(tmp_path):
    instance = _instance(tmp_path)
    assert isinstance(instance.event_log_storage, KeptEngineSqliteEventLogStorage)
    assert instance.get_ref().storage_data.class_name == RevOpsSqliteStorage.__name__
    defs = dg.Definitions(assets=[an_asset], jobs=[dg.define_asset_job("a_job", [an_asset])])
    result = defs.resolve_job_def("a_job").execute_in_process(instance=instance)
    assert result.success
    written = len(instance.all_logs(result.run_id))

    reader = _instance(tmp_path)  # e.g. the Dagster UI, in its own process
    assert len(reader.all_logs(result.run_id)) == written > 5
    materialization = reader.get_latest_materialization_event(dg.AssetKey("an_asset"))
    assert materialization is not None and materialization.run_id == result.run_id
    instance.dispose()
    reader.dispose()


def test_a_wipe_lets_go_of_the_connections_and_the_storage_works_after(tmp_path):
    instance = _instance(tmp_path)
    storage = instance.event_log_storage
    defs = dg.Definitions(assets=[an_asset], jobs=[dg.define_asset_job("a_job", [an_asset])])
    first = defs.resolve_job_def("a_job").execute_in_process(instance=instance)
    assert first.run_id in storage._engines
    storage.wipe()
    assert set(storage._engines) <= {"index"}  # the index is emptied, the run files deleted
    assert instance.all_logs(first.run_id) == []
    second = defs.resolve_job_def("a_job").execute_in_process(instance=instance)
    assert second.success and len(instance.all_logs(second.run_id)) > 5
    instance.dispose()


def test_a_reader_of_many_runs_keeps_a_bounded_number_of_shards(tmp_path):
    instance = _instance(tmp_path)
    storage = instance.event_log_storage
    defs = dg.Definitions(assets=[an_asset], jobs=[dg.define_asset_job("a_job", [an_asset])])
    runs = [defs.resolve_job_def("a_job").execute_in_process(instance=instance).run_id for _ in range(3)]
    storage.KEEP_SHARDS = 2
    for run_id in runs:
        assert instance.all_logs(run_id)
    assert len([shard for shard in storage._engines if shard != "index"]) == 2
    instance.dispose()


def test_the_event_log_commits_without_waiting_for_the_disk_on_its_wal_files(tmp_path):
    instance = _instance(tmp_path)
    storage = instance.event_log_storage
    defs = dg.Definitions(assets=[an_asset], jobs=[dg.define_asset_job("a_job", [an_asset])])
    result = defs.resolve_job_def("a_job").execute_in_process(instance=instance)
    with storage._connect(result.run_id) as conn:
        journal = conn.exec_driver_sql("pragma journal_mode").scalar()
        synchronous = conn.exec_driver_sql("pragma synchronous").scalar()
    assert (journal, synchronous) == ("wal", 1)  # 1 = NORMAL (SQLite's default is 2 = FULL)
    instance.dispose()
