"""Whole runs on data shaped as real CRMs send it (issues 11 and 12): what DESIGN.md calls
legal publishes, warnings say where, and a dbt test names model, column and examples.

Each case copies the good baseline (conftest.py), changes the landing files and runs
the pipeline as `revops run` does, into a new working warehouse: a full build (what an
incremental day does with a newly deleted deal is the reliability work of issue 12)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from .helpers import run_build


def rewrite(path: Path, change) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    def change(rows):
        rows[line - 1][rows[0].index(column)] = value

    rewrite(path, change)


def test_deleted_rows_null_accounts_and_outliers_publish_with_warnings(workspace, capsys):
    deals = workspace.landing_dir / "opportunity.csv"
    # a soft-deleted deal with values the gate would block on a live one
    for column, value in {
        "is_deleted": "true",
        "stage_name": "Negotiation",
        "owner_id": "005000000000009999",
        "account_id": "001000000000009999",
        "amount": "-1",
    }.items():
        set_cell(deals, 40, column, value)
    set_cell(deals, 41, "account_id", "")  # legal in Salesforce
    set_cell(deals, 42, "account_id", "")
    set_cell(deals, 43, "amount", "5000000")  # ~400x the median: plausible, but worth a look
    set_cell(deals, 44, "type", "Upsell")  # not a known picklist value: a dbt warning

    workspace.warehouse_path.unlink()
    code = run_build(workspace.landing_dir, workspace.warehouse_path, workspace.serve_dir)
    output = capsys.readouterr()
    assert code == 0, output.err[-3000:]

    text = output.out + output.err
    assert "amount_not_outlier" in text and "opportunity.csv line 43" in text
    # the dbt warning names the model, the column and an example key and value
    assert "staging.stg_salesforce__opportunities, column opportunity_type: dbt test accepted_values" in text
    with open(deals, newline="", encoding="utf-8") as handle:
        upsell_id = list(csv.reader(handle))[44 - 1][0]
    assert f"opportunity_type='Upsell' (opportunity_id='{upsell_id}')" in text

    from revops.publish import open_served

    with open_served(workspace.serve_dir) as con:
        nulls = con.execute("select count(*) from marts.dim_deals where account_id is null").fetchone()[0]
    assert nulls == 2


CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_18(id15: str) -> str:
    return id15 + "".join(
        CHECKSUM[sum(1 << i for i, c in enumerate(id15[5 * b : 5 * b + 5]) if "A" <= c <= "Z")]
        for b in range(3)
    )


def test_tasks_with_15_character_ids_link_to_their_18_character_deals(workspace, capsys):
    """A real org's ids have letters; the report export gives tasks 15-character ids."""
    letters = "abcdefghijkLMNOPQRSTUVwxyz"

    def sf_id(demo_id: str) -> str:  # 006000000000000123 -> 006Dn0000 + a mixed-case tail, 18 chars
        n = int(demo_id[3:])
        tail = "".join(letters[(n // 26**k) % 26] for k in range(6))
        return salesforce_18(f"006Dn{tail}0000")

    mapping: dict[str, str] = {}

    def deals(rows):
        i = rows[0].index("id")
        for row in rows[1:]:
            mapping[row[i]] = sf_id(row[i])
            row[i] = mapping[row[i]]

    rewrite(workspace.landing_dir / "opportunity.csv", deals)

    def references(column: str, to15: bool):
        def change(rows):
            i = rows[0].index(column)
            for row in rows[1:]:
                if row[i] in mapping:
                    row[i] = mapping[row[i]][:15] if to15 else mapping[row[i]]

        return change

    rewrite(workspace.landing_dir / "opportunity_history.csv", references("opportunity_id", False))
    rewrite(workspace.landing_dir / "lead.csv", references("converted_opportunity_id", False))
    rewrite(workspace.landing_dir / "event.csv", references("what_id", False))
    rewrite(workspace.landing_dir / "task.csv", references("what_id", True))  # 15 characters

    workspace.warehouse_path.unlink()
    code = run_build(workspace.landing_dir, workspace.warehouse_path, workspace.serve_dir)
    output = capsys.readouterr()
    assert code == 0, output.err[-3000:]
    assert "check what_id_resolves failed" not in output.out + output.err
    assert "check activities_linked failed" not in output.out + output.err
    with duckdb.connect(str(workspace.warehouse_path), read_only=True) as con:
        unlinked = con.execute(
            "select count(*) from raw.task t where t.what_id is not null "
            "and t.what_id not in (select id from raw.opportunity) and t.what_id not in (select id from raw.account)"
        ).fetchone()[0]
        linked = con.execute(
            "select count(*) from raw.task t join raw.opportunity o on o.id = t.what_id"
        ).fetchone()[0]
    assert unlinked == 0 and linked > 10_000
