"""The generator's shared state: seeds, reps, derived stage rates and the accumulators that
quotas and growth inputs are built from after the deals."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from revops_demo.seeds import IcpRules, StageMap
from revops_demo.vocab import DAY, HOUR


@dataclass
class _Context:
    seed: int
    as_of: int  # day number
    first_day: int  # first day of the history window
    stages: StageMap
    icp: IcpRules
    industries: tuple[str, ...]
    n_icp_industries: int
    fit_levels: tuple[str, ...]  # [matching value, others...]
    # users (indexed by user number - 1)
    n_users: int
    reps: np.ndarray  # user indices of reps (active and former)
    rep_weights: np.ndarray
    team: np.ndarray  # team index per user (-1: VP)
    skill: np.ndarray
    activity: np.ndarray
    diligence: np.ndarray
    optimism: np.ndarray
    departure: np.ndarray  # day the rep left (NEVER when active)
    replacement: np.ndarray  # who took over the rep's deals (self when active)
    active_reps: np.ndarray
    # derived per stage code
    stage_days: np.ndarray  # expected days, at least 3
    remaining_days: np.ndarray  # expected days from entering an open stage to closing
    activity_rate: np.ndarray  # logged interactions per calendar day in an open stage
    meeting_share: np.ndarray
    # quotas
    first_quota_month: int  # months since 1970-01
    n_quota_months: int
    won_by_owner_month: np.ndarray
    # pyarrow vocabularies
    vocab: dict[str, pa.Array]
    previous_business_day: int

    # closed won deals, for the growth inputs (marketing spend, subscriptions)
    won_deals: list[dict[str, np.ndarray]] = field(default_factory=list)
    created_by_source_month: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def no_later(self) -> int:
        """The last second anything may be dated: the as-of morning (12:00 UTC)."""
        return self.as_of * DAY + 12 * HOUR - 1


def _vocab(values) -> pa.Array:
    return pa.array(list(values), type=pa.string())
