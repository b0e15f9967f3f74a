"""forecasting_quota: monthly targets per rep, following each rep's closed-won volume."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from revops_demo.arrays import _dates, _ids, _month_no
from revops_demo.context import _Context
from revops_demo.deals import Deals
from revops_demo.vocab import ATTAINMENT_RANGE, KEY_PREFIXES


def add_quota_basis(ctx: _Context, d: Deals) -> None:
    """Closed-won amount per owner and month, the level quotas are set from."""
    closed, won, T, owner, final_amount = d.closed, d.won, d.T, d.owner, d.final_amount
    wm = closed & won
    month = _month_no(T[wm]) - ctx.first_quota_month
    inside = (month >= 0) & (month < ctx.n_quota_months)
    np.add.at(ctx.won_by_owner_month, (owner[wm][inside], month[inside]), final_amount[wm][inside])


def _quota_table(ctx: _Context, seed: int) -> dict[str, pa.Array]:
    rng = np.random.default_rng([seed, 2])
    months = ctx.n_quota_months
    month_days = (
        (np.arange(months) + ctx.first_quota_month)
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    as_of_month = int(_month_no(np.array([ctx.as_of]))[0]) - ctx.first_quota_month
    # steady state: after the first four months of the window, up to the last full month
    steady = (np.arange(months) >= min(4, max(as_of_month - 1, 0))) & (np.arange(months) < as_of_month)
    if not steady.any():
        steady = np.arange(months) <= as_of_month
    growth = 0.6
    x = np.clip((month_days - ctx.first_day) / max(ctx.as_of - ctx.first_day, 1), 0, None)
    quarter_x = x[(np.arange(months) // 3) * 3]  # quotas step up each quarter of the window
    trend = 1 + growth * quarter_x
    # the level whose trend-shaped quotas add up to the rep's won amount over the steady
    # months: divided by the rep's attainment, that attainment is what the rep reaches
    base = np.zeros(ctx.n_users)
    for u in ctx.reps:
        tenure = steady & (month_days < ctx.departure[u])
        base[u] = ctx.won_by_owner_month[u, tenure].sum() / trend[tenure].sum() if tenure.any() else 0.0
    fallback = np.median(base[ctx.reps][base[ctx.reps] > 0]) if (base[ctx.reps] > 0).any() else 10_000.0
    rows_owner, rows_month, amounts = [], [], []
    for u in ctx.reps:
        level = base[u] if base[u] > 0 else fallback
        attainment = rng.uniform(*ATTAINMENT_RANGE)
        for mth in range(months):
            if month_days[mth] >= ctx.departure[u]:
                break
            rows_owner.append(u)
            rows_month.append(mth)
            amounts.append(max(round(level / attainment * trend[mth] / 500) * 500, 500))
    owners = np.array(rows_owner, np.int64)
    return {
        "id": _ids(KEY_PREFIXES["forecasting_quota"], np.arange(1, len(owners) + 1)),
        "quota_owner_id": _ids(KEY_PREFIXES["user"], owners + 1),
        "start_date": _dates(month_days[np.array(rows_month, np.int64)]),
        "quota_amount": pa.array(np.array(amounts, float)),
    }
