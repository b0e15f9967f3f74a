"""A sentence for every dbt test shown as a Dagster asset check.

The test's own YAML `description` (or `meta.description`) wins; otherwise the sentence is
built from the test's name, its column and its arguments (`relationships` names the table
it points to, `accepted_values` the values), and a singular test's is the leading comment
of its SQL file. The UI never shows "No description provided".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REF = re.compile(r"""ref\(\s*['"]([^'"]+)['"]\s*\)""")


def _ref_name(value: Any) -> str:
    found = _REF.search(str(value or ""))
    return found.group(1) if found else str(value)


def _leading_comment(sql: str) -> str:
    """The first comment of a SQL file (`-- ...` lines or a `{# ... #}` / `/* ... */` block)."""
    text = sql.strip()
    for opener, closer in (("{#", "#}"), ("/*", "*/")):
        if text.startswith(opener) and closer in text:
            return " ".join(text[len(opener) : text.index(closer)].split())
    lines = []
    for line in text.splitlines():
        if not line.strip().startswith("--"):
            break
        lines.append(line.strip().lstrip("-").strip())
    return " ".join(part for part in lines if part)


def _values(values: Any, limit: int = 8) -> str:
    items = [str(v) for v in (values or [])]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


_VAR = re.compile(r"""\{\{\s*var\(\s*['"]([^'"]+)['"]\s*\)\s*\}\}""")


def _bound(value: Any) -> str:
    """A bound as written, a var's as the setting it is: "{{ var('w') }}" -> "the dbt var w"."""
    found = _VAR.fullmatch(str(value).strip())
    return f"the dbt var {found.group(1)}" if found else str(value)


def _columns(columns: Any) -> str:
    return ", ".join(str(c) for c in (columns or []))


def test_description(test: Mapping[str, Any], model_name: str) -> str:
    """The check's description: the YAML's, else a sentence from the test's name and column."""
    written = test.get("description") or (test.get("meta") or {}).get("description")
    if not written:
        written = ((test.get("config") or {}).get("meta") or {}).get("description")
    if written:
        return str(written).strip()
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    column = test.get("column_name") or kwargs.get("column_name")
    name = metadata.get("name")
    subject = f"{column} of {model_name}" if column else model_name
    if name is None:  # a singular test: its SQL file
        path = test.get("original_file_path", "")
        comment = _leading_comment(test.get("raw_code") or "")
        lead = comment.rstrip(".") + ". " if comment else ""
        return f"{lead}Singular dbt test {test.get('name')} ({path}): passes when its query returns no rows."
    if name == "not_null":
        return f"{subject} is never null."
    if name == "unique":
        return f"{subject} is unique: one row per value."
    if name == "accepted_values":
        return f"{subject} takes only the values {_values(kwargs.get('values'))}."
    if name == "relationships":
        return (
            f"Every {column} of {model_name} is a {kwargs.get('field')} of {_ref_name(kwargs.get('to'))} "
            "(no orphan keys)."
        )
    if name == "revops_not_null_columns":
        return f"None of {_columns(kwargs.get('columns'))} of {model_name} is ever null (one query for all)."
    if name == "revops_accepted_values_columns":
        allowed = kwargs.get("values_by_column") or {}
        return (
            f"In {model_name}: "
            + "; ".join(
                f"{column} takes only the values {_values(values)}" for column, values in allowed.items()
            )
            + "."
        )
    if name == "revops_columns_between":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        low, high = (None if v is None else _bound(v) for v in (low, high))
        if high is None:
            bounds = f"at least {low}"
        elif low is None:
            bounds = f"at most {high}"
        else:
            bounds = f"between {low} and {high}"
        return f"{_columns(kwargs.get('columns'))} of {model_name} lie {bounds} (nulls aside)."
    if name == "revops_describes_as_of_date":
        day_column = kwargs.get("date_column") or "as_of_date"
        relation = "is no later than" if kwargs.get("on_or_before") else "is"
        return f"Every row's {day_column} of {model_name} {relation} the build's as_of_date."
    if name == "revops_expression_is_true":
        return f"Every row of {model_name} satisfies {kwargs.get('expression')}."
    if name.endswith("unique_combination"):
        columns = kwargs.get("columns") or kwargs.get("combination_of_columns") or []
        return f"{model_name} has one row per {', '.join(str(c) for c in columns)} (its grain)."
    if name.endswith("between"):
        low, high = kwargs.get("min_value", kwargs.get("low")), kwargs.get("max_value", kwargs.get("high"))
        bounds = [f"{key}={value}" for key, value in kwargs.items() if key not in ("model", "column_name")]
        if low is not None or high is not None:
            return f"{subject} lies between {low} and {high}."
        return f"{subject} lies within the bounds {', '.join(bounds)}."
    arguments = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k not in ("model", "column_name"))
    return f"dbt test {name} on {subject}" + (f" ({arguments})" if arguments else "") + "."
