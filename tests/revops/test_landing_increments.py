"""Loading only what changed, on small hand-made files in a real DuckDB file: skipped unchanged
files, change files applied once, the modification-time rule, deletions, and the reloads."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from revops.crm_contract import CRM_OBJECTS
from revops.landing import LandingFileError, load_landing_object

COLUMNS = CRM_OBJECTS["opportunity"].required_columns


def deal(
    number: int, *, amount: int = 1000, modified: str = "2026-11-20T10:00:00Z", deleted: bool = False
) -> dict:
    return {
        "id": f"006{number:015d}",
        "owner_id": "005000000000000001",
        "name": f"Deal {number}",
        "stage_name": "Exploring Solutions",
        "amount": str(amount),
        "close_date": "2026-12-31",
        "created_date": "2026-11-01T10:00:00Z",
        "last_modified_date": modified,
        "is_closed": "false",
        "is_won": "false",
        "is_deleted": "true" if deleted else "false",
    }


def write_deals(path: Path, deals: list[dict]) -> Path:
    lines = [",".join(COLUMNS)] + [",".join(d.get(c, "") for c in COLUMNS) for d in deals]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


@pytest.fixture
def landing(tmp_path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    write_deals(folder / "opportunity.csv", [deal(n) for n in range(1, 41)])
    return folder


def raw(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def log(con) -> dict:
    result = con.execute("select * from raw._load_log where object = 'opportunity'")
    return dict(zip([c[0] for c in result.description], result.fetchone(), strict=True))


def test_an_unchanged_file_is_skipped_and_the_log_says_so(con, landing):
    first = load_landing_object(con, "opportunity", landing)
    assert first.load_mode == "reloaded" and first.counts["new_rows"] == 40
    loaded_at = raw(con, "select distinct _loaded_at from raw.opportunity")
    second = load_landing_object(con, "opportunity", landing)
    assert second.load_mode == "incremental" and second.skipped_files == ["opportunity.csv"]
    assert second.counts == {
        "new_rows": 0,
        "changed_rows": 0,
        "unchanged_rows": 40,
        "deleted_rows": 0,
        "older_rows": 0,
    }
    assert raw(con, "select distinct _loaded_at from raw.opportunity") == loaded_at
    entry = log(con)
    assert entry["load_mode"] == "incremental" and list(entry["skipped_files"]) == ["opportunity.csv"]
    assert "skipped opportunity.csv (unchanged)" in second.summary()


def test_a_change_in_the_middle_of_a_file_of_the_same_size_is_not_skipped(con, landing):
    load_landing_object(con, "opportunity", landing)
    deals = [deal(n) for n in range(1, 41)]
    deals[20]["amount"] = "2000"  # same number of characters
    deals[20]["last_modified_date"] = "2026-11-21T10:00:00Z"
    write_deals(landing / "opportunity.csv", deals)
    result = load_landing_object(con, "opportunity", landing)
    assert result.load_mode == "merged" and result.counts["changed_rows"] == 1
    assert raw(con, f"select amount from raw.opportunity where id = '{deals[20]['id']}'") == [(2000.0,)]


def test_an_older_row_does_not_replace_a_newer_one(con, landing):
    load_landing_object(con, "opportunity", landing)
    write_deals(
        landing / "opportunity.changes.2026-11-21.csv",
        [
            deal(1, amount=5000, modified="2026-11-19T10:00:00Z"),
            deal(2, amount=7000, modified="2026-11-20T10:00:00Z"),
        ],
    )
    result = load_landing_object(con, "opportunity", landing)
    assert result.load_mode == "incremental"
    assert result.counts["older_rows"] == 1 and result.counts["changed_rows"] == 1
    amounts = dict(
        raw(
            con,
            "select id, amount from raw.opportunity where id in ('006000000000000001', '006000000000000002')",
        )
    )
    assert amounts == {"006000000000000001": 1000.0, "006000000000000002": 7000.0}


def test_deletions_are_kept_flagged_from_a_full_file_and_from_a_change_file(con, landing):
    load_landing_object(con, "opportunity", landing)
    write_deals(landing / "opportunity.csv", [deal(n) for n in range(1, 40)])  # deal 40 gone
    merged = load_landing_object(con, "opportunity", landing)
    assert merged.load_mode == "merged" and merged.counts["deleted_rows"] == 1
    assert merged.row_count == 40 and merged.source_rows == 39
    assert raw(
        con, "select is_deleted, _source_row from raw.opportunity where id = '006000000000000040'"
    ) == [(True, None)]
    write_deals(
        landing / "opportunity.changes.2026-11-21.csv",
        [deal(5, modified="2026-11-21T09:00:00Z", deleted=True)],
    )
    changed = load_landing_object(con, "opportunity", landing)
    assert changed.load_mode == "incremental" and changed.counts["deleted_rows"] == 1
    assert raw(con, "select is_deleted from raw.opportunity where id = '006000000000000005'") == [(True,)]


def test_a_truncated_full_file_is_reloaded_not_read_as_mass_deletions(con, landing):
    load_landing_object(con, "opportunity", landing)
    write_deals(landing / "opportunity.csv", [deal(n) for n in range(1, 21)])  # half the deals
    result = load_landing_object(con, "opportunity", landing)
    assert result.load_mode == "reloaded" and result.row_count == 20
    assert result.counts["deleted_rows"] == 20


def test_a_change_file_applies_once_and_an_edited_one_reloads_everything(con, landing):
    load_landing_object(con, "opportunity", landing)
    change = write_deals(
        landing / "opportunity.changes.2026-11-21.csv", [deal(41, modified="2026-11-21T09:00:00Z")]
    )
    assert load_landing_object(con, "opportunity", landing).counts["new_rows"] == 1
    again = load_landing_object(con, "opportunity", landing)
    assert again.skipped_files == ["opportunity.csv", change.name] and again.applied_files == []
    write_deals(change, [deal(41, amount=3000, modified="2026-11-21T09:00:00Z")])
    edited = load_landing_object(con, "opportunity", landing)
    assert edited.load_mode == "reloaded" and edited.applied_files == ["opportunity.csv", change.name]
    assert raw(con, "select amount from raw.opportunity where id = '006000000000000041'") == [(3000.0,)]


def test_full_refresh_reloads_every_file(con, landing):
    load_landing_object(con, "opportunity", landing)
    write_deals(landing / "opportunity.changes.2026-11-21.csv", [deal(41, modified="2026-11-21T09:00:00Z")])
    result = load_landing_object(con, "opportunity", landing, full_refresh=True)
    assert result.load_mode == "reloaded" and result.row_count == 41
    assert result.applied_files == ["opportunity.csv", "opportunity.changes.2026-11-21.csv"]


def test_a_bad_value_in_a_change_file_names_that_file_and_leaves_the_table(con, landing):
    load_landing_object(con, "opportunity", landing)
    bad = deal(41)
    bad["amount"] = "lots"
    write_deals(landing / "opportunity.changes.2026-11-21.csv", [bad])
    with pytest.raises(LandingFileError) as error:
        load_landing_object(con, "opportunity", landing)
    assert "opportunity.changes.2026-11-21.csv" in str(error.value) and "amount" in str(error.value)
    assert "line 2: 'lots'" in str(error.value)
    assert raw(con, "select count(*) from raw.opportunity") == [(40,)]
    assert log(con)["load_mode"] == "reloaded"


def test_change_files_need_an_id_and_a_full_file(con, tmp_path):
    folder = tmp_path / "growth"
    folder.mkdir()
    (folder / "marketing_spend.csv").write_text("month,channel,amount\n2026-11-01,Inbound,100\n")
    (folder / "marketing_spend.changes.2026-11-21.csv").write_text(
        "month,channel,amount\n2026-11-01,Inbound,200\n"
    )
    with pytest.raises(LandingFileError, match="no id column to merge"):
        load_landing_object(con, "marketing_spend", folder)
    (folder / "marketing_spend.csv").unlink()
    with pytest.raises(LandingFileError, match="no full file"):
        load_landing_object(con, "marketing_spend", folder)
