"""The gate's matrix of bad inputs: each stops the run before publishing, says what is
wrong (file, column, rows, examples), leaves the served marts row-for-row unchanged and
raises the alert on the webhook and in `main.alerts`.

Whichever layer catches a case (the loader, the raw gate), the test asserts the same
outcome. One thing is corrupted per case, in a copy of the good baseline.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from .helpers import GATE_AS_OF_DATE, run_build, served_state

# --------------------------------------------------------------------------- corruptions


def _rewrite(path: Path, change: Callable[[list[list[str]]], None], encoding: str = "utf-8") -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with open(path, "w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(rows)


def set_value(obj: str, column: str, line: int, value: str):
    """Line numbers as a text editor shows them: line 1 is the header."""

    def corrupt(landing: Path) -> None:
        def change(rows):
            rows[line - 1][rows[0].index(column)] = value

        _rewrite(landing / f"{obj}.csv", change)

    return corrupt


def copy_value(obj: str, column: str, from_line: int, to_line: int):
    def corrupt(landing: Path) -> None:
        def change(rows):
            i = rows[0].index(column)
            rows[to_line - 1][i] = rows[from_line - 1][i]

        _rewrite(landing / f"{obj}.csv", change)

    return corrupt


def drop_column(obj: str, column: str):
    def corrupt(landing: Path) -> None:
        def change(rows):
            i = rows[0].index(column)
            for row in rows:
                del row[i]

        _rewrite(landing / f"{obj}.csv", change)

    return corrupt


def keep_share_of_rows(obj: str, share: float):
    def corrupt(landing: Path) -> None:
        path = landing / f"{obj}.csv"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        keep = int((len(lines) - 1) * share)
        path.write_text("".join(lines[: 1 + keep]), encoding="utf-8")

    return corrupt


def truncate_bytes(obj: str, share: float):
    def corrupt(landing: Path) -> None:
        path = landing / f"{obj}.csv"
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * share)])

    return corrupt


def empty_file(obj: str):
    def corrupt(landing: Path) -> None:
        (landing / f"{obj}.csv").write_bytes(b"")

    return corrupt


def latin1_file(obj: str, column: str, line: int, value: str):
    def corrupt(landing: Path) -> None:
        def change(rows):
            rows[line - 1][rows[0].index(column)] = value

        _rewrite(landing / f"{obj}.csv", change, encoding="latin-1")

    return corrupt


def nothing(landing: Path) -> None:
    pass


def csv_rows(landing: Path, obj: str) -> list[list[str]]:
    with open(landing / f"{obj}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def trailing_space_copy_of_id(obj: str, from_line: int, to_line: int):
    """A re-export that padded one id: the same deal twice, one of them `id `."""

    def corrupt(landing: Path) -> None:
        def change(rows):
            i = rows[0].index("id")
            rows[to_line - 1][i] = rows[from_line - 1][i] + " "

        _rewrite(landing / f"{obj}.csv", change)

    return corrupt


def same_id_in_another_case(landing: Path) -> None:
    """Two deals whose 18-character ids differ only in case (a case-folding tool)."""
    id18 = "006Dn00000AbCdEIAV"  # 006Dn00000AbCdE + its checksum

    def change(rows):
        i = rows[0].index("id")
        rows[5 - 1][i] = id18
        rows[9 - 1][i] = id18.lower()

    _rewrite(landing / "opportunity.csv", change)


def quotas_appended_twice(landing: Path) -> None:
    """One month of quotas appended a second time, under new ids."""
    rows = csv_rows(landing, "forecasting_quota")
    month = rows[1][rows[0].index("start_date")]
    again = [list(r) for r in rows[1:] if r[rows[0].index("start_date")] == month]
    for n, row in enumerate(again, start=1):
        row[rows[0].index("id")] = f"0J9900000000{n:06d}"
    with open(landing / "forecasting_quota.csv", "a", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(again)  # the demo files end lines with LF


def tasks_of_another_org(landing: Path) -> None:
    """Every task names a deal id that is in no opportunity file (another org's ids)."""

    def change(rows):
        i = rows[0].index("what_id")
        for row in rows[1:]:
            if row[i].startswith("006"):
                row[i] = "00X" + row[i][3:]

    _rewrite(landing / "task.csv", change)


def history_before_creation(line: int, days: int):
    def corrupt(landing: Path) -> None:
        deals = csv_rows(landing, "opportunity")
        created = {r[0]: r[deals[0].index("created_date")] for r in deals[1:]}

        def change(rows):
            row = rows[line - 1]
            deal_created = dt.datetime.fromisoformat(
                created[row[rows[0].index("opportunity_id")]].replace("Z", "+00:00")
            )
            row[rows[0].index("created_date")] = (deal_created - dt.timedelta(days=days)).isoformat()

        _rewrite(landing / "opportunity_history.csv", change)

    return corrupt


def quoted_line_break_then_bad_value(landing: Path) -> None:
    """A deal name with a line break (quoted) on line 3; a bad amount on the record after
    line 20, which an editor shows as line 21."""

    def change(rows):
        rows[3 - 1][rows[0].index("name")] = "Acme renewal\nsecond line of the name"
        rows[20 - 1][rows[0].index("amount")] = "12 500"

    _rewrite(landing / "opportunity.csv", change)


def symlink_to_etc_passwd(landing: Path) -> None:
    (landing / "user.csv").unlink()
    (landing / "user.csv").symlink_to("/etc/passwd")


def cr_only_line_ends(landing: Path) -> None:
    path = landing / "account.csv"
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))


# --------------------------------------------------------------------------- the matrix


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    corrupt: Callable[[Path], None]
    table: str  # what the alert names
    check: str
    expect: tuple[str, ...]  # more text the alert (webhook and main.alerts) must carry
    rows: int | None = None  # failing rows the alert must count
    as_of_days_later: int = 0
    absent: tuple[str, ...] = ()  # text neither the alert nor the webhook may carry


CASES = [
    Case(
        "missing_required_column",
        drop_column("opportunity", "stage_name"),
        "raw.opportunity",
        "landing_file_loads",
        ("opportunity.csv", "stage_name", "missing the required column"),
    ),
    Case(
        "duplicate_ids",
        copy_value("opportunity", "id", from_line=5, to_line=9),
        "raw.opportunity",
        "id_unique",
        ("opportunity.csv line 5", "opportunity.csv line 9", "006000000000000004"),
        rows=2,
    ),
    Case(
        "null_id",
        set_value("account", "id", 7, ""),
        "raw.account",
        "id_not_null",
        ("account.csv line 7", "null"),
        rows=1,
    ),
    Case(
        "unknown_stage",
        set_value("opportunity", "stage_name", 12, "Negotiation"),
        "raw.opportunity",
        "stage_known",
        ("'Negotiation'", "opportunity.csv line 12", "stage_map.csv"),
        rows=1,
    ),
    Case(
        "negative_amount",
        set_value("opportunity", "amount", 14, "-500"),
        "raw.opportunity",
        "amount_not_negative",
        ("-500.0", "opportunity.csv line 14", "amount"),
        rows=1,
    ),
    Case(
        "unparseable_date",
        set_value("opportunity", "close_date", 20, "31/12/2026"),
        "raw.opportunity",
        "landing_file_loads",
        ("opportunity.csv", "close_date", "line 20", "31/12/2026"),
        rows=1,
    ),
    Case(
        "close_date_1970",
        set_value("opportunity", "close_date", 30, "1970-01-01"),
        "raw.opportunity",
        "close_date_plausible",
        ("1970-01-01", "opportunity.csv line 30", "close_date"),
        rows=1,
    ),
    Case(
        "close_date_2199",
        set_value("opportunity", "close_date", 31, "2199-01-01"),
        "raw.opportunity",
        "close_date_plausible",
        ("2199-01-01", "opportunity.csv line 31", "close_date"),
        rows=1,
    ),
    Case(
        "created_date_in_future",
        set_value("opportunity", "created_date", 33, "2027-06-01T10:00:00Z"),
        "raw.opportunity",
        "dates_not_in_future",
        ("2027-06-01", "opportunity.csv line 33", "created_date"),
        rows=1,
    ),
    Case(
        "owner_does_not_exist",
        set_value("opportunity", "owner_id", 40, "005000000000009999"),
        "raw.opportunity",
        "owner_exists",
        ("'005000000000009999'", "opportunity.csv line 40", "owner_id"),
        rows=1,
    ),
    Case(
        "history_for_unknown_deal",
        set_value("opportunity_history", "opportunity_id", 50, "006000000000099999"),
        "raw.opportunity_history",
        "opportunity_exists",
        ("'006000000000099999'", "opportunity_history.csv line 50", "opportunity_id"),
        rows=1,
    ),
    Case(
        "quota_owner_does_not_exist",
        set_value("forecasting_quota", "quota_owner_id", 3, "005000000000008888"),
        "raw.forecasting_quota",
        "quota_owner_exists",
        ("'005000000000008888'", "forecasting_quota.csv line 3"),
        rows=1,
    ),
    Case(
        "empty_file",
        empty_file("task"),
        "raw.task",
        "landing_file_loads",
        ("task.csv", "empty"),
    ),
    Case(
        "header_only_file",
        keep_share_of_rows("event", 0.0),
        "raw.event",
        "row_count_not_collapsing",
        ("raw.event has 0 rows", "100% fewer"),
    ),
    Case(
        "truncated_file",
        truncate_bytes("opportunity", 0.6),
        "raw.opportunity",
        "landing_file_loads",
        ("opportunity.csv", "truncated", "line "),
    ),
    Case(
        "file_not_utf8",
        latin1_file("account", "name", 6, "Café Müller GmbH"),
        "raw.account",
        "landing_file_loads",
        ("account.csv", "UTF-8", "line 6"),
    ),
    Case(
        "sql_in_a_value_reported_safely",
        set_value("opportunity", "account_id", 8, "x'); DROP TABLE raw.opportunity;--"),
        "raw.opportunity",
        "account_exists",
        ("DROP TABLE raw.opportunity;--", "opportunity.csv line 8"),
        rows=1,
    ),
    Case(
        "half_the_rows_gone",
        keep_share_of_rows("task", 0.5),
        "raw.task",
        "row_count_not_collapsing",
        ("50% fewer", "last good load"),
    ),
    Case(
        "extract_older_than_freshness",
        nothing,
        "raw.opportunity",
        "fresh",
        ("newest last_modified_date", "2026-11-23", "REVOPS_GATE_FRESHNESS_DAYS"),
        as_of_days_later=10,
    ),
    # ---- plausibility that fits real CRMs (issue 12)
    Case(
        "amount_of_100_billion",
        set_value("opportunity", "amount", 15, "100000000000"),
        "raw.opportunity",
        "amount_below_cap",
        ("100000000000.0", "opportunity.csv line 15", "REVOPS_GATE_MAX_DEAL_AMOUNT"),
        rows=1,
    ),
    Case(
        "id_with_a_trailing_space",
        trailing_space_copy_of_id("opportunity", from_line=5, to_line=9),
        "raw.opportunity",
        "id_unique",
        ("opportunity.csv line 5", "opportunity.csv line 9", "006000000000000004"),
        rows=2,
    ),
    Case(
        "18_character_ids_differing_only_in_case",
        same_id_in_another_case,
        "raw.opportunity",
        "id_unique",
        ("opportunity.csv line 5", "opportunity.csv line 9", "006Dn00000AbCdEIAV"),
        rows=2,
    ),
    Case(
        "a_month_of_quotas_appended_twice",
        quotas_appended_twice,
        "raw.forecasting_quota",
        "one_quota_per_owner_month",
        ("forecasting_quota.csv line 2", "doubles every target"),
    ),
    Case(
        "tasks_that_link_to_nothing",
        tasks_of_another_org,
        "raw.task",
        "activities_linked",
        # every task is unlinked: the examples are some of them, each named by its line
        ("task.csv line ", "REVOPS_GATE_MAX_UNLINKED_ACTIVITY_SHARE", "unlinked_share=0.97"),
    ),
    Case(
        "history_400_days_before_the_deal",
        history_before_creation(line=6, days=400),
        "raw.opportunity_history",
        "history_not_before_creation",
        ("opportunity_history.csv line 6", "before its deal was created"),
        rows=1,
    ),
    Case(
        "two_digit_year",
        set_value("opportunity", "next_step_date_c", 22, "26-12-05"),
        "raw.opportunity",
        "landing_file_loads",
        ("opportunity.csv", "next_step_date_c", "line 22", "26-12-05", "YYYY-MM-DD"),
        rows=1,
    ),
    Case(
        "infinity_date",
        set_value("opportunity", "close_date", 23, "infinity"),
        "raw.opportunity",
        "landing_file_loads",
        ("opportunity.csv", "close_date", "line 23", "'infinity'"),
        rows=1,
    ),
    # ---- messages and security (issue 12)
    Case(
        "physical_line_after_a_quoted_line_break",
        quoted_line_break_then_bad_value,
        "raw.opportunity",
        "landing_file_loads",
        ("opportunity.csv", "amount", "line 21: '12 500'"),
        rows=1,
    ),
    Case(
        "symlink_out_of_the_landing_folder",
        symlink_to_etc_passwd,
        "raw.user",
        "landing_file_loads",
        ("user.csv", "symbolic link to a file outside the landing folder"),
        absent=("root:", "/bin/", "nologin"),
    ),
    Case(
        "negative_marketing_spend",
        set_value("marketing_spend", "amount", 5, "-250"),
        "raw.marketing_spend",
        "amount_not_negative",
        ("-250.0", "marketing_spend.csv line 5", "amount"),
        rows=1,
    ),
    Case(
        "cr_only_line_ends",
        cr_only_line_ends,
        "raw.account",
        "landing_file_loads",
        ("account.csv", "carriage return alone"),
        absent=("_csv.Error",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_stops_the_run_before_publishing(case: Case, workspace, baseline, webhook, capsys):
    case.corrupt(workspace.landing_dir)
    webhook.clear()
    as_of = GATE_AS_OF_DATE + dt.timedelta(days=case.as_of_days_later)

    code = run_build(workspace.landing_dir, workspace.warehouse_path, workspace.serve_dir, as_of)
    output = capsys.readouterr()

    # the run stopped and said why, naming the table and the check
    assert code == 1
    assert "nothing was published" in output.err
    assert case.table.split(".")[-1] in output.err

    # BI still reads the last good marts, row for row; no publish was logged
    after = served_state(workspace.serve_dir)
    assert after["fingerprints"] == baseline.state["fingerprints"]
    assert after["counts"] == baseline.state["counts"]
    assert after["publishes"] == baseline.state["publishes"]
    assert not list(workspace.serve_dir.glob(".revops.duckdb.tmp-*"))

    # the alert is recorded in the served file ...
    from revops.publish import read_alerts

    rows = [a for a in read_alerts(workspace.serve_dir) if a["kind"] == "gate_failure"]
    assert after["alerts"] == baseline.state["alerts"] + len(rows)
    alert = next((a for a in rows if a["check_name"] == case.check), None)
    assert alert is not None, f"no {case.check} alert among {[a['check_name'] for a in rows]}"
    assert alert["table_name"] == case.table
    assert alert["severity"] == "blocking"
    if case.rows is not None:
        assert alert["failing_row_count"] == case.rows
    for text in case.expect:
        assert text in alert["message"] or text in alert["examples"], f"{text!r} not in {alert['message']!r}"
    examples = json.loads(alert["examples"] or "[]")
    assert len(examples) <= 5
    for text in case.absent:
        assert text not in alert["message"] and text not in (alert["examples"] or ""), text

    # ... and arrived at the webhook in Slack's format with the same content
    assert len(webhook.posts) == 1, webhook.posts
    post = webhook.posts[0]
    assert set(post) == {"text", "blocks"}
    assert post["blocks"][0]["type"] == "header"
    assert all(b["type"] in {"header", "section", "context"} for b in post["blocks"])
    assert case.table in post["text"] and case.check in post["text"]
    if case.rows is not None:
        assert f"{case.rows:,} failing row" in post["text"]
    for text in case.expect:
        # Slack mrkdwn escapes &, < and >; none of the expected texts carry them
        assert text in post["text"], f"{text!r} not in the webhook message"
    for text in case.absent:
        assert text not in json.dumps(post), text

    # the loader and the gate treat every value as data: the raw tables are all there
    with duckdb.connect(str(workspace.warehouse_path), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
    assert {"opportunity", "account", "user"} <= tables
