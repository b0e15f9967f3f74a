"""What the CRM tracks, read once per page load from marts.source_coverage.

A real CRM may lack tasks and events, quotas, next-step dates, history, leads or the ICP
fields (DESIGN.md "Real CRMs"). The marts then hold NULL for what needs them, and a page
must say "not tracked in your CRM" rather than a dash, a 0 or a red flag. This module
turns source_coverage (object x column, tracked or not) into a few named *parts* a
revenue leader recognizes, each with what it affects, and offers the helpers the pages
share: is a part untracked, the text for an unknown value, a notice line per page.

Where a mart already says why a value is unknown (revops_health.unknown_reason,
forecast_accuracy.unknown_reason, target_status, committed_basis), the pages read that;
this module only says which inputs are absent.

A served file from before source_coverage existed has no such table: `Tracking.recorded`
is False and every part counts as tracked (the marts of that time assumed so too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import formatting as fmt

TABLE = "marts.source_coverage"
NOT_TRACKED = "not tracked in your CRM"
COVERAGE_COLUMNS = [
    "as_of_date",
    "object_name",
    "column_name",
    "is_tracked",
    "row_count",
    "mapped_from",
    "source",
    "is_recorded",
]
SOURCE_LABELS = {
    "salesforce_files": "Salesforce export files (landing folder)",
    "fivetran_salesforce": "Salesforce, loaded by Fivetran",
    "hubspot": "HubSpot, loaded by Fivetran",
}


@dataclass(frozen=True)
class Part:
    """Something the CRM may not track, as a revenue leader names it."""

    key: str
    label: str
    inputs: tuple[tuple[str, str | None], ...]  # (object, column or None for the whole object)
    affects: str
    all_missing: bool = True  # untracked only when every input is (activities: tasks and events)


PARTS = (
    Part(
        "activities",
        "Activities (tasks and events)",
        (("task", None), ("event", None)),
        "inactive and floating deals, the activity part of the risk score, overdue follow-ups",
    ),
    Part(
        "quotas",
        "Quotas",
        (("forecasting_quota", None),),
        "targets, pacing, coverage, gap to target and attainment",
    ),
    Part(
        "next_step_date",
        "Next-step dates",
        (("opportunity", "next_step_date_c"),),
        "overdue next steps; Committed uses the CRM's Commit forecast category instead",
    ),
    Part(
        "next_step",
        "Next steps",
        (("opportunity", "next_step"),),
        "the next-step share and the deals without a next step",
    ),
    Part(
        "history",
        "Opportunity history",
        (("opportunity_history", None),),
        "close-date pushes, forecast accuracy and time in stage",
    ),
    Part("leads", "Leads", (("lead", None),), "new inbound leads on Plan My Day and lead conversion"),
    Part(
        "icp_fields",
        "ICP fields (industry, employees, trigger event, technical fit)",
        (
            ("account", "industry"),
            ("account", "number_of_employees"),
            ("opportunity", "trigger_event_c"),
            ("opportunity", "technical_fit_c"),
        ),
        "ICP fit (judged on the tracked criteria only) and the ICP figures",
        all_missing=False,
    ),
    Part(
        "forecast_category",
        "Forecast categories",
        (("opportunity", "forecast_category_name"),),
        "Committed and Best case when next-step dates are not tracked either",
    ),
)
PARTS_BY_KEY = {part.key: part for part in PARTS}


def fetch(db) -> pd.DataFrame:
    """source_coverage's rows, or an empty frame when the served file predates it."""
    if TABLE not in db.tables():
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    return db.frame(f"select * from {TABLE} order by object_name, column_name")


class Tracking:
    """What the served file says the CRM had on the published run."""

    def __init__(self, coverage: pd.DataFrame):
        self.coverage = coverage
        self.recorded = not coverage.empty
        self._tracked = {(r.object_name, r.column_name): bool(r.is_tracked) for r in coverage.itertuples()}

    @property
    def source(self) -> str | None:
        kinds = self.coverage["source"].dropna().unique() if self.recorded else []
        return str(kinds[0]) if len(kinds) else None

    def source_label(self) -> str:
        source = self.source
        if source is None:
            return "not recorded"
        return SOURCE_LABELS.get(source, source)

    def object_tracked(self, obj: str) -> bool:
        columns = [tracked for (o, _), tracked in self._tracked.items() if o == obj]
        return not columns or any(columns)

    def column_tracked(self, obj: str, column: str) -> bool:
        return self._tracked.get((obj, column), True) and self.object_tracked(obj)

    def _input_tracked(self, obj: str, column: str | None) -> bool:
        return self.object_tracked(obj) if column is None else self.column_tracked(obj, column)

    def untracked(self, key: str) -> bool:
        """True when the CRM does not track the part (False when unknown: no source_coverage)."""
        part = PARTS_BY_KEY[key]
        missing = [not self._input_tracked(obj, column) for obj, column in part.inputs]
        return all(missing) if part.all_missing else any(missing)

    def untracked_parts(self) -> list[Part]:
        return [part for part in PARTS if self.untracked(part.key)]

    def untracked_columns(self, obj: str) -> list[str]:
        return [c for (o, c), tracked in self._tracked.items() if o == obj and not tracked]

    def text(self, value: Any, formatter: Callable[[Any], str], key: str, reason: str | None = None) -> str:
        """`formatter(value)`; "not tracked in your CRM" when the value is unknown because
        the part `key` is not tracked (with the mart's reason when it gives one)."""
        if fmt.is_missing(value) and (self.untracked(key) or reason):
            return not_tracked(reason)
        return formatter(value)

    def notice(
        self, keys: tuple[str, ...], ending: str | None = None, uses: dict[str, str] | None = None
    ) -> None:
        """One line on a page: which of `keys` the CRM does not track and what that leaves
        unknown (`uses`: what a part is used for on this page, instead of everywhere)."""
        parts = [PARTS_BY_KEY[k] for k in keys if self.untracked(k)]
        if not parts:
            return
        uses = uses or {}
        lines = "; ".join(f"**{p.label.lower()}**, used for {uses.get(p.key, p.affects)}" for p in parts)
        ending = ending or f"Those figures show as *{NOT_TRACKED}* here, never as 0 or as a problem."
        st.info(
            f"Your CRM does not track {lines}. {ending} **Data health** lists what your CRM tracks.",
            icon=":material/visibility_off:",
        )

    def affects(self, obj: str, column: str | None) -> list[str]:
        """What the parts fed by `obj`.`column` (or the whole object) are used for."""
        return [
            part.affects
            for part in PARTS
            if any(o == obj and (c is None or column is None or c == column) for o, c in part.inputs)
        ]


def not_tracked(reason: object = None) -> str:
    """ "not tracked in your CRM", or the mart's reason when it gives one."""
    if fmt.is_missing(reason) or not str(reason).strip():
        return NOT_TRACKED
    text = str(reason).strip()
    return text.replace("in the CRM", "in your CRM")


def load(frames: dict) -> Tracking:
    return Tracking(frames.get("coverage", pd.DataFrame(columns=COVERAGE_COLUMNS)))
