"""The optional growth inputs: marketing_spend (month x channel) and subscription (recurring
revenue per account), both derived from the deals so CAC and NRR tell the same story.

- Spend: each channel's new-business opportunities created in a month x the channel's cost
  per opportunity (`COST_PER_OPPORTUNITY`) x noise. The as-of month carries its whole budget
  (its opportunities so far, scaled to the full month), as a finance export books it.
- Subscriptions: a won New Business deal starts one (mrr = amount / 12), a won Expansion
  adds one, a won Renewal starts one only when the account has none active (a win-back).
  Accounts churn at `ANNUAL_CHURN_RATE` a year (every subscription active then ends) and
  `CONTRACTION_SHARE` of subscriptions are cut back once (the old row ends, a smaller one
  starts the next day).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from revops_demo.arrays import _dates, _ids, _month_no
from revops_demo.context import _Context
from revops_demo.deals import Deals
from revops_demo.history import DealState
from revops_demo.vocab import (
    ANNUAL_CHURN_RATE,
    CONTRACTION_SHARE,
    COST_PER_OPPORTUNITY,
    KEY_PREFIXES,
    LEAD_SOURCES,
)

NEW_BUSINESS, EXPANSION, RENEWAL = range(3)  # DEAL_TYPES order


def record_growth_basis(ctx: _Context, d: Deals, s: DealState, account_numbers: np.ndarray) -> None:
    """Keep what the growth inputs are built from: won deals, and new-business
    opportunities created per channel and month (soft-deleted deals left out)."""
    live = ~s.opp_deleted
    won = d.closed & d.won & live
    ctx.won_deals.append(
        {
            "account": account_numbers[d.account[won]],
            "type": d.deal_type[won],
            "day": d.T[won],
            "amount": d.final_amount[won],
        }
    )
    new_business = live & (d.deal_type == NEW_BUSINESS)
    months = _month_no(d.created_day[new_business])
    for source, month in zip(d.source[new_business], months, strict=True):
        key = (int(source), int(month))
        ctx.created_by_source_month[key] = ctx.created_by_source_month.get(key, 0) + 1


def marketing_spend_table(ctx: _Context) -> dict[str, pa.Array]:
    rng = np.random.default_rng([ctx.seed, 3])
    first_month = int(_month_no(np.array([ctx.first_day]))[0])
    as_of_month = int(_month_no(np.array([ctx.as_of]))[0])
    month_days = np.arange(first_month, as_of_month + 1).astype("datetime64[M]").astype("datetime64[D]")
    month_first = month_days.astype(np.int64)
    as_of_elapsed = ctx.as_of - int(month_first[-1]) + 1
    as_of_length = int((month_days[-1].astype("datetime64[M]") + 1).astype("datetime64[D]").astype(np.int64))
    as_of_length -= int(month_first[-1])
    months, channels, amounts = [], [], []
    for i, month in enumerate(range(first_month, as_of_month + 1)):
        for source in range(len(LEAD_SOURCES)):
            created = ctx.created_by_source_month.get((source, month), 0)
            if month == as_of_month:
                created = created * as_of_length / max(as_of_elapsed, 1)
            noise = rng.lognormal(0, 0.2)
            amount = max(round((created + 1) * COST_PER_OPPORTUNITY[source] * noise / 10) * 10, 10)
            months.append(month_first[i])
            channels.append(source)
            amounts.append(float(amount))
    vocab = pa.array(list(LEAD_SOURCES), type=pa.string())
    return {
        "month": _dates(np.array(months, np.int64)),
        "channel": vocab.take(pa.array(channels)),
        "amount": pa.array(amounts, pa.float64()),
    }


def subscription_table(ctx: _Context) -> dict[str, pa.Array]:
    rng = np.random.default_rng([ctx.seed, 4])
    won = {k: np.concatenate([w[k] for w in ctx.won_deals]) for k in ("account", "type", "day", "amount")}
    order = np.lexsort((won["account"], won["day"]))
    rows: list[list] = []  # [account, start, end or None, mrr]
    active: dict[int, list[int]] = {}  # account -> indices of rows without an end
    for i in order:
        account, kind, day = int(won["account"][i]), int(won["type"][i]), int(won["day"][i])
        live = [r for r in active.get(account, []) if rows[r][2] is None]
        if kind == RENEWAL and live:
            continue  # the renewal continues what is there
        rows.append([account, day, None, round(float(won["amount"][i]) / 12, 2)])
        active.setdefault(account, []).append(len(rows) - 1)
    # churn: each customer's lifetime from its first start, exponential at the annual rate
    first_start: dict[int, int] = {}
    for account, start, _, _ in rows:
        first_start[account] = min(first_start.get(account, start), start)
    for account in sorted(first_start):
        churn_day = first_start[account] + 60 + int(rng.exponential(365.0 / ANNUAL_CHURN_RATE))
        if churn_day > ctx.as_of:
            continue
        for r in active[account]:
            if rows[r][1] < churn_day and rows[r][2] is None:
                rows[r][2] = churn_day - 1
    # contraction: a subscription cut back once, while it is still active
    for r in range(len(rows)):
        account, start, end, mrr = rows[r]
        cut = start + int(rng.uniform(90, 400))
        if rng.random() >= CONTRACTION_SHARE or cut > ctx.as_of or (end is not None and cut >= end):
            continue
        rows[r][2] = cut - 1
        rows.append([account, cut, end, round(mrr * rng.uniform(0.5, 0.85), 2)])
    rows.sort(key=lambda row: (row[1], row[0]))
    n = len(rows)
    ends = np.array([row[2] if row[2] is not None else 0 for row in rows], np.int64)
    return {
        "id": _ids(KEY_PREFIXES["subscription"], np.arange(1, n + 1)),
        "account_id": _ids(KEY_PREFIXES["account"], np.array([row[0] for row in rows], np.int64)),
        "start_date": _dates(np.array([row[1] for row in rows], np.int64)),
        "end_date": _dates(ends, mask=np.array([row[2] is None for row in rows], bool)),
        "mrr_amount": pa.array([float(row[3]) for row in rows], pa.float64()),
    }
