"""CRM record ids in one canonical form, as a DuckDB SQL expression.

Salesforce writes the same record id two ways: 15 characters, case-sensitive (the
UI, reports, many exports), and 18 characters, case-insensitive (the API, Fivetran,
Data Loader). The 18-character form is the 15 characters plus a 3-character
checksum: for each block of five characters, a 5-bit mask of which ones are
uppercase letters (bit i = character i), written as a letter of
`ABCDEFGHIJKLMNOPQRSTUVWXYZ012345`. So:

- a 15-character id gets its suffix: `0015000000Gv7qJ` -> `0015000000Gv7qJAAR`;
- an 18-character id whose case was lost (a spreadsheet, a case-folding tool) gets
  it back from its suffix: `0015000000gv7qjaar` -> `0015000000Gv7qJAAR`;
- anything else (HubSpot's numbers, test ids such as `opp-1`, an 18-character
  value whose suffix is not a checksum, or whose suffix marks a digit as an
  uppercase letter, which no Salesforce id does) is only trimmed;
- an empty or blank value is NULL.

`normalized_id_sql(expr)` returns the expression; apply it to every id column (the
record's own `id` and every reference to one) so that joins and uniqueness work on
the normalized value. It is idempotent, and ids that are already canonical
18-character ids (or all digits) come out unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


# An id column of the contract: the record's own id and every reference to a record
# (`owner_id`, `what_id`, `who_id`, `converted_opportunity_id`, `quota_owner_id`, ...).
def is_id_column(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def id_columns(columns: Iterable[str]) -> list[str]:
    return [c for c in columns if is_id_column(c)]


def _suffix_sql(v: str) -> str:
    """The 3-character checksum of the 15-character id `v` (an SQL text expression)."""
    blocks = []
    for k in range(3):
        bits = " + ".join(
            f"(case when substr({v}, {5 * k + i + 1}, 1) between 'A' and 'Z' then {1 << i} else 0 end)"
            for i in range(5)
        )
        blocks.append(f"substr('{CHECKSUM_ALPHABET}', 1 + {bits}, 1)")
    return " || ".join(blocks)


def _suffix_fits_sql(v: str) -> str:
    """True when the suffix of the 18-character `v` marks only letters as uppercase: a
    checksum Salesforce could have written. Ids that merely look the part (a generator's
    `00T000000000000123`, whose `123` would mark digits) are left as they are."""
    conditions = []
    for p in range(15):
        mask = f"(instr('{CHECKSUM_ALPHABET}', upper(substr({v}, {16 + p // 5}, 1))) - 1)"
        char = f"substr({v}, {p + 1}, 1)"
        conditions.append(f"(({mask} >> {p % 5}) & 1 = 0 or regexp_full_match({char}, '[A-Za-z]'))")
    return "(" + " and ".join(conditions) + ")"


def _recased_sql(v: str) -> str:
    """The 18-character id `v` with the case of its first 15 characters taken from its
    (uppercased) suffix."""
    chars = []
    for p in range(15):
        mask = f"(instr('{CHECKSUM_ALPHABET}', upper(substr({v}, {16 + p // 5}, 1))) - 1)"
        char = f"substr({v}, {p + 1}, 1)"
        chars.append(f"(case when ({mask} >> {p % 5}) & 1 = 1 then upper({char}) else lower({char}) end)")
    return " || ".join(chars) + f" || upper(substr({v}, 16, 3))"


def normalized_id_sql(expr: str, *, salesforce_ids: bool = True) -> str:
    """DuckDB SQL of the normalized id in the text expression `expr`: trimmed, NULL when
    blank, and (with `salesforce_ids`, the default) 15-character Salesforce ids in their
    18-character form and 18-character ids in their canonical case. With
    `salesforce_ids=False` (sources whose ids are not Salesforce's) it only trims.

    `expr` appears several times in the result: pass a column reference, not a query."""
    v = f"nullif(trim(cast({expr} as varchar)), '')"
    if not salesforce_ids:
        return v
    return (
        f"(case "
        f"when length({v}) = 15 and regexp_full_match({v}, '[0-9A-Za-z]{{15}}') "
        f"then {v} || {_suffix_sql(v)} "
        f"when length({v}) <> 18 then {v} "
        f"when regexp_full_match({v}, '[0-9]{{15}}[A-Za-z0-5]{{3}}') then upper({v}) "
        f"when regexp_full_match({v}, '[0-9A-Za-z]{{15}}[A-Za-z0-5]{{3}}') and {_suffix_fits_sql(v)} "
        f"then {_recased_sql(v)} "
        f"else {v} end)"
    )
