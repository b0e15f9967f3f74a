"""Accounts: company names and firmographics (drawn before their deals), written once the
deals say when each account's first deal was created."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revops_demo.arrays import _growth_days, _ids, _take, _timestamps
from revops_demo.context import _Context
from revops_demo.vocab import (
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DAY,
    HOUR,
    KEY_PREFIXES,
    NAME_PREFIXES,
    NAME_ROOTS,
    NAME_SUFFIXES,
    NEVER,
)
from revops_demo.writer import _ObjectWriter


@dataclass
class Accounts:
    n: int
    industry: np.ndarray
    employees: np.ndarray
    names: pa.Array
    revenue: np.ndarray
    country: np.ndarray
    owner: np.ndarray
    ids: pa.Array
    numbers: np.ndarray  # the number in each account's id


def _company_names(rng: np.random.Generator, n: int, vocab: dict[str, pa.Array]) -> pa.Array:
    prefix = _take(vocab["name_prefix"], rng.integers(len(NAME_PREFIXES), size=n))
    root = _take(vocab["name_root"], rng.integers(len(NAME_ROOTS), size=n))
    suffix = _take(vocab["name_suffix"], rng.integers(len(NAME_SUFFIXES), size=n))
    return pc.binary_join_element_wise(pc.binary_join_element_wise(prefix, root, ""), suffix, " ")


def _firmographics(
    rng: np.random.Generator,
    ctx: _Context,
    n: int,
    fit_share: float,
    industry_share: float,
    size_share: float,
):
    """Industry index (into ctx.industries) and employee counts; `fit_share` of rows are
    made to match the ICP industry and size rules, the rest match each by chance."""
    icp = ctx.icp
    n_icp = ctx.n_icp_industries
    n_other = len(ctx.industries) - n_icp
    forced = rng.random(n) < fit_share
    in_list = forced | (rng.random(n) < industry_share)
    industry = np.where(
        in_list & (n_icp > 0),
        rng.integers(max(n_icp, 1), size=n),
        n_icp + rng.integers(max(n_other, 1), size=n),
    )
    lo = icp.min_employees if icp.min_employees is not None else 50
    hi = icp.max_employees if icp.max_employees is not None else 1000
    lo, hi = max(lo, 1), max(hi, lo)
    in_range = forced | (rng.random(n) < size_share)

    def log_uniform(a: float, b: float) -> np.ndarray:
        return np.exp(rng.uniform(np.log(a), np.log(b + 1), n)).astype(np.int64)

    inside = np.clip(log_uniform(lo, hi), lo, hi)
    small = np.clip(log_uniform(2, max(lo - 1, 2)), 1, max(lo - 1, 1))
    large = np.maximum(log_uniform(hi + 1, max(hi * 25, hi + 2)), hi + 1)
    outside = np.where((rng.random(n) < 0.6) & (lo > 1), small, large)
    employees = np.where(in_range, inside, outside)
    return industry, employees


def draw_accounts(rng: np.random.Generator, ctx: _Context, n: int, counters: dict[str, int]) -> Accounts:
    """The block's accounts (about 0.62 per deal), before their deals."""
    n_acc = max(1, round(n * 0.62))
    acc_numbers = counters["account"] + 1 + np.arange(n_acc)
    counters["account"] += n_acc
    acc_industry, acc_employees = _firmographics(rng, ctx, n_acc, 0.5, 0.4, 0.45)
    acc_names = _company_names(rng, n_acc, ctx.vocab)
    acc_revenue = np.round(acc_employees * rng.uniform(60_000, 260_000, n_acc), -3)
    acc_country = rng.choice(len(COUNTRIES), n_acc, p=COUNTRY_WEIGHTS)
    acc_owner = rng.choice(ctx.reps, n_acc, p=ctx.rep_weights)
    acc_ids = _ids(KEY_PREFIXES["account"], acc_numbers)
    return Accounts(
        n_acc,
        acc_industry,
        acc_employees,
        acc_names,
        acc_revenue,
        acc_country,
        acc_owner,
        acc_ids,
        acc_numbers,
    )


def write_accounts(
    rng: np.random.Generator,
    ctx: _Context,
    accounts: Accounts,
    deal_account: np.ndarray,
    created_ts: np.ndarray,
    writer: _ObjectWriter,
) -> None:
    """Accounts are created before their first deal (accounts without deals: at random)."""
    A, n_acc = ctx.as_of, accounts.n
    first_deal_ts = np.full(n_acc, NEVER * DAY, np.int64)
    np.minimum.at(first_deal_ts, deal_account, created_ts)
    no_deal = first_deal_ts == NEVER * DAY
    lead_time = np.where(
        rng.random(n_acc) < 0.3, rng.integers(0, 700, n_acc), rng.integers(0, 120, n_acc)
    ) * DAY + rng.integers(0, 3 * HOUR, n_acc)
    acc_created = np.where(
        no_deal,
        _growth_days(rng, n_acc, ctx.first_day, A) * DAY + 15 * HOUR,
        first_deal_ts - lead_time - HOUR,
    )
    acc_created = np.minimum(acc_created, A * DAY + 6 * HOUR)
    writer.write(
        {
            "id": accounts.ids,
            "name": accounts.names,
            "industry": _take(ctx.vocab["industry"], accounts.industry),
            "number_of_employees": pa.array(accounts.employees),
            "annual_revenue": pa.array(accounts.revenue.astype(float)),
            "billing_country": _take(ctx.vocab["country"], accounts.country),
            "owner_id": _ids(KEY_PREFIXES["user"], accounts.owner + 1),
            "created_date": _timestamps(acc_created),
        }
    )
