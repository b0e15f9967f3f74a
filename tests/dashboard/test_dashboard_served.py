"""The dashboard's reads of the served file: read-only, short-lived, never blocking a publish."""

from __future__ import annotations

import os

import dashboard_harness
import duckdb
import pytest

from dashboard import served


@pytest.fixture(scope="module")
def serve_dir(demo_warehouse, tmp_path_factory):
    serve = tmp_path_factory.mktemp("served_reads")
    dashboard_harness.publish_demo(demo_warehouse.warehouse_path, serve, demo_warehouse.as_of_date)
    return serve


def test_no_served_file_is_none_not_an_error(tmp_path):
    assert served.file_stamp(tmp_path / "revops.duckdb") is None
    with served.open_served(tmp_path / "revops.duckdb") as db:
        assert db is None
    assert not list(tmp_path.iterdir()), "opening a missing file must not create it"


def test_the_serve_folder_comes_from_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("REVOPS_SERVE_DIR", str(tmp_path))
    assert served.served_path() == tmp_path / "revops.duckdb"


def test_reads_are_read_only_and_leave_no_handle(serve_dir):
    path = served.served_path(serve_dir)
    before = path.read_bytes()
    with served.open_served(path) as db:
        assert {"marts.deal_risk", "main.publish_log", "main.alerts"} <= db.tables()
        assert db.rows("select count(*) from marts.dim_reps")[0][0] > 0
        with pytest.raises(duckdb.Error):
            db.rows("create table marts.scratch as select 1 as x")
        with pytest.raises(served.MissingMartsError) as missing:
            db.require("marts.deal_risk", "marts.no_such_mart")
        assert missing.value.missing == ["marts.no_such_mart"]
    assert path.read_bytes() == before
    assert not list(serve_dir.glob("revops.duckdb.wal"))
    held = [
        os.readlink(f"/proc/self/fd/{fd}")
        for fd in os.listdir("/proc/self/fd")
        if os.path.exists(f"/proc/self/fd/{fd}")
    ]
    assert str(path) not in held


def test_a_publish_under_an_open_reader_goes_through_and_the_next_read_sees_it(demo_warehouse, serve_dir):
    path = served.served_path(serve_dir)
    stamp = served.file_stamp(path)
    with served.open_served(path) as reader:
        publishes = reader.rows("select count(*) from main.publish_log")[0][0]
        result = dashboard_harness.publish_demo(
            demo_warehouse.warehouse_path, serve_dir, demo_warehouse.as_of_date
        )
        assert reader.rows("select count(*) from main.publish_log")[0][0] == publishes  # its own snapshot
    assert served.file_stamp(path) != stamp  # a new file: caches keyed on the stamp are refreshed
    with served.open_served(path) as db:
        assert db.rows("select count(*) from main.publish_log")[0][0] == publishes + 1
        assert (
            db.rows("select publish_id from main.publish_log order by published_at desc limit 1")[0][0]
            == result.publish_id
        )


def test_a_file_that_is_not_a_warehouse_is_a_readable_error(tmp_path):
    path = tmp_path / "revops.duckdb"
    path.write_text("not a database")
    with pytest.raises(served.ServedFileError), served.open_served(path):
        pass


def test_the_launcher_binds_to_loopback_by_default():
    from dashboard.launcher import streamlit_command

    command = streamlit_command()
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "8501"
    assert command[command.index("--server.headless") + 1] == "true"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert command[command.index("run") + 1].endswith("dashboard/app.py")
