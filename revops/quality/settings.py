"""The gate's thresholds (`GateSettings`) and the values suites refer to (`gate_parameters`).

The raw gate only: the marts' invariants are dbt tests whose bounds are the models' own vars
(DECISIONS.md, "One gate"), so no dbt var is read here."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revops.paths import SEEDS_DIR
from revops.quality.suites import SuiteError

STAGE_MAP_PATH = SEEDS_DIR / "stage_map.csv"


ENV_MAX_ROW_DROP_RATE = "REVOPS_GATE_MAX_ROW_DROP_RATE"


ENV_FRESHNESS_DAYS = "REVOPS_GATE_FRESHNESS_DAYS"


ENV_CLOSE_DATE_YEARS_AHEAD = "REVOPS_GATE_CLOSE_DATE_YEARS_AHEAD"


ENV_MEMORY_LIMIT = "REVOPS_GATE_MEMORY_LIMIT"


ENV_MAX_DEAL_AMOUNT = "REVOPS_GATE_MAX_DEAL_AMOUNT"


ENV_AMOUNT_OUTLIER_FACTOR = "REVOPS_GATE_AMOUNT_OUTLIER_FACTOR"


ENV_MAX_UNLINKED_ACTIVITY_SHARE = "REVOPS_GATE_MAX_UNLINKED_ACTIVITY_SHARE"


ENV_HISTORY_BEFORE_CREATION_DAYS = "REVOPS_GATE_HISTORY_BEFORE_CREATION_DAYS"


@dataclass(frozen=True)
class GateSettings:
    """The gate's thresholds; each an environment variable with this default."""

    max_row_drop_rate: float = 0.5  # a table losing half or more of its rows is blocking
    freshness_days: int = 3  # the newest record no older than as_of_date - N days
    close_date_years_ahead: int = 5
    earliest_plausible_date: dt.date = dt.date(2000, 1, 1)
    memory_limit: str = "2GB"  # DuckDB's limit while the gate runs (it spills beyond)
    # plausibility (DECISIONS.md says why each default is what it is)
    max_deal_amount: float = 1_000_000_000.0  # one deal (or one monthly quota) above: blocking
    amount_outlier_factor: float = 100.0  # a deal above N x the median amount: warning
    max_unlinked_activity_share: float = 0.5  # more unlinked tasks/events than this: blocking
    history_before_creation_days: int = 1  # history this much before its deal was created: blocking

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GateSettings:
        """From an environment mapping (`revops.settings.Settings.from_env` passes its own)."""
        default = cls()
        try:
            return cls(
                max_row_drop_rate=float(env.get(ENV_MAX_ROW_DROP_RATE) or default.max_row_drop_rate),
                freshness_days=int(env.get(ENV_FRESHNESS_DAYS) or default.freshness_days),
                close_date_years_ahead=int(
                    env.get(ENV_CLOSE_DATE_YEARS_AHEAD) or default.close_date_years_ahead
                ),
                memory_limit=env.get(ENV_MEMORY_LIMIT) or default.memory_limit,
                max_deal_amount=float(env.get(ENV_MAX_DEAL_AMOUNT) or default.max_deal_amount),
                amount_outlier_factor=float(
                    env.get(ENV_AMOUNT_OUTLIER_FACTOR) or default.amount_outlier_factor
                ),
                max_unlinked_activity_share=float(
                    env.get(ENV_MAX_UNLINKED_ACTIVITY_SHARE) or default.max_unlinked_activity_share
                ),
                history_before_creation_days=int(
                    env.get(ENV_HISTORY_BEFORE_CREATION_DAYS) or default.history_before_creation_days
                ),
            )
        except ValueError as error:
            raise SuiteError(f"a quality gate setting is not a number: {error}") from None


def known_stage_names(stage_map_path: Path = STAGE_MAP_PATH) -> list[str]:
    with open(stage_map_path, newline="", encoding="utf-8") as handle:
        return [row["stage_name"] for row in csv.DictReader(handle)]


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def gate_parameters(
    as_of_date: dt.date,
    gate_settings: GateSettings | None = None,
    *,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The values suites refer to as `{"$PARAMETER": name}` (or `$name` in SQL).

    "In the future" means after the later of as_of_date and today: a build of a past
    day sees records created since, and a record can never be newer than its extract.
    """
    gs = gate_settings or GateSettings()
    today = today or dt.datetime.now(dt.UTC).date()
    return {
        "as_of_date": as_of_date,
        "earliest_plausible_date": gs.earliest_plausible_date,
        "latest_close_date": _add_years(as_of_date, gs.close_date_years_ahead),
        "latest_created_date": max(as_of_date, today),
        "freshness_min_date": as_of_date - dt.timedelta(days=gs.freshness_days),
        "freshness_days": gs.freshness_days,
        "known_stage_names": known_stage_names(),
        "max_row_drop_rate": gs.max_row_drop_rate,
        "max_deal_amount": gs.max_deal_amount,
        "amount_outlier_factor": gs.amount_outlier_factor,
        "max_unlinked_activity_share": gs.max_unlinked_activity_share,
        "history_before_creation_days": gs.history_before_creation_days,
    }
