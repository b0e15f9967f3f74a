"""Formula-leading cells are neutralized in every table the dashboard offers for
download (Streamlit's table toolbar writes the frame it was given as CSV)."""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from dashboard.formatting import neutralize_formula, neutralize_formulas

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_formula_leading_text_is_shown_as_text(value):
    assert neutralize_formula(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme renewal", "-12%", "-$1,200", "+3.5", "-1,250.75", "", 5, -3.0, None])
def test_everything_else_is_unchanged(value):
    assert neutralize_formula(value) == value


def test_a_frame_written_as_csv_has_no_formula_cell():
    frame = pd.DataFrame(
        {"deal": ['=HYPERLINK("http://evil.example")', "Acme"], "amount": [100.0, -5.0], "=bad": ["@x", "y"]}
    )
    text = neutralize_formulas(frame).to_csv(index=False)
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")) and not re.match(r"-[^\d$]", cell), cell
    assert frame.loc[0, "deal"].startswith("=")  # the caller's frame is left alone


def test_every_downloadable_table_of_the_dashboard_is_neutralized():
    """Every st.dataframe / st.data_editor / st.download_button call passes its data through
    neutralize_formulas (read from the syntax tree, so formatting does not matter)."""
    calls = []
    for path in DASHBOARD.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("dataframe", "data_editor", "download_button")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "st"
            ):
                calls.append((path.name, node.lineno, ast.unparse(node)))
    assert calls
    for name, lineno, source in calls:
        assert "neutralize_formulas(" in source, f"{name}:{lineno}: {source}"
