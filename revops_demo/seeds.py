"""The seeds the generator follows: the stage map, the ICP rules and the holiday calendar."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from revops_demo.vocab import SEEDS_DIR


@dataclass(frozen=True)
class StageMap:
    """The stage map seed, as stage codes: 0..n_open-1 open (in order), won, lost."""

    names: tuple[str, ...]
    probability: np.ndarray  # 0-1
    expected_days: np.ndarray
    forecast_category: tuple[str, ...]
    n_open: int

    @property
    def won(self) -> int:
        return self.n_open

    @property
    def lost(self) -> int:
        return self.n_open + 1


@dataclass(frozen=True)
class IcpRules:
    industries: tuple[str, ...]  # empty: any industry
    min_employees: int | None
    max_employees: int | None
    trigger_required: bool
    technical_fit: str | None


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "t", "1", "yes", "y")


def read_stage_map(seeds_dir: Path = SEEDS_DIR) -> StageMap:
    with open(seeds_dir / "stage_map.csv", newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["stage_order"]))
    open_rows = [r for r in rows if not _truthy(r["is_closed"])]
    won = [r for r in rows if _truthy(r["is_closed"]) and _truthy(r["is_won"])]
    lost = [r for r in rows if _truthy(r["is_closed"]) and not _truthy(r["is_won"])]
    if len(open_rows) < 2 or not won or not lost:
        raise ValueError(
            f"{seeds_dir / 'stage_map.csv'} needs at least two open stages, "
            "a closed-won stage and a closed-lost stage"
        )
    ordered = [*open_rows, won[0], lost[0]]

    def days(r: dict) -> float:
        return float(r["expected_days_in_stage"] or 0)

    return StageMap(
        names=tuple(r["stage_name"] for r in ordered),
        probability=np.array([float(r["default_probability"] or 0) for r in ordered]),
        expected_days=np.array([days(r) for r in ordered]),
        forecast_category=tuple(r["default_forecast_category"] for r in ordered),
        n_open=len(open_rows),
    )


def read_icp_rules(seeds_dir: Path = SEEDS_DIR) -> IcpRules:
    industries: list[str] = []
    min_emp = max_emp = fit = None
    trigger = False
    with open(seeds_dir / "icp_rules.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            criterion, rule, value = r["criterion"].strip(), r["rule_type"].strip(), r["rule_value"].strip()
            if criterion == "industry" and rule == "in_list":
                industries.append(value)
            elif criterion == "company_size" and rule == "min_employees":
                min_emp = int(float(value))
            elif criterion == "company_size" and rule == "max_employees":
                max_emp = int(float(value))
            elif criterion == "trigger_event" and rule == "not_blank":
                trigger = True
            elif criterion == "technical_fit" and rule == "equals":
                fit = value
    return IcpRules(tuple(industries), min_emp, max_emp, trigger, fit)


def read_holidays(seeds_dir: Path = SEEDS_DIR) -> set[dt.date]:
    path = seeds_dir / "business_calendar_holidays.csv"
    if not path.exists():
        return set()
    with open(path, newline="", encoding="utf-8") as f:
        return {dt.date.fromisoformat(r["holiday_date"].strip()) for r in csv.DictReader(f)}
