"""The entry point: `generate_demo_data` writes every landing object, deals in fixed blocks."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from revops.crm_contract import CRM_OBJECTS
from revops_demo.accounts import draw_accounts, write_accounts
from revops_demo.activities import write_activities
from revops_demo.arrays import _add_months, _day, _month_no
from revops_demo.context import _Context, _vocab
from revops_demo.deals import draw_deals
from revops_demo.forecast_calls import category_names
from revops_demo.growth import marketing_spend_table, record_growth_basis, subscription_table
from revops_demo.history import write_history
from revops_demo.leads import write_leads
from revops_demo.opportunities import write_opportunities
from revops_demo.quotas import _quota_table, add_quota_basis
from revops_demo.reps import _build_users
from revops_demo.seeds import read_holidays, read_icp_rules, read_stage_map
from revops_demo.vocab import (
    CALL_SUBJECTS,
    CONCRETE_NEXT_STEPS,
    COUNTRIES,
    DEAL_TYPES,
    EMAIL_SUBJECTS,
    FILE_FORMATS,
    FIT_LEVELS,
    LEAD_SOURCES,
    LEAD_STATUSES,
    MEETING_SUBJECTS,
    NAME_PREFIXES,
    NAME_ROOTS,
    NAME_SUFFIXES,
    OTHER_INDUSTRIES,
    OTHER_TASK_SUBJECTS,
    TRIGGER_EVENTS,
    VAGUE_NEXT_STEPS,
)
from revops_demo.writer import _ObjectWriter

CHUNK_DEALS = 25_000  # deals per block: part of the algorithm (changing it changes the data)
PROGRESS_MIN_DEALS = 50_000  # progress lines only for runs larger than this


def _generate_block(
    ctx: _Context,
    block: int,
    n: int,
    deal_base: int,
    counters: dict[str, int],
    writers: dict[str, _ObjectWriter],
) -> None:
    """One block of deals and everything hanging off them, from its own generator."""
    rng = np.random.default_rng([ctx.seed, 0, block])
    accounts = draw_accounts(rng, ctx, n, counters)
    deals = draw_deals(rng, ctx, n, accounts)
    state = write_history(rng, ctx, deals, deal_base, counters, writers["opportunity_history"])
    write_opportunities(rng, ctx, deals, state, accounts, writers["opportunity"])
    write_accounts(rng, ctx, accounts, deals.account, state.created_ts, writers["account"])
    add_quota_basis(ctx, deals)
    write_activities(rng, ctx, deals, state, accounts, counters, writers)
    write_leads(rng, ctx, block, deals, state, accounts, counters, writers["lead"])
    record_growth_basis(ctx, deals, state, accounts.numbers)


def _previous_business_day(day: dt.date, holidays: set[dt.date]) -> dt.date:
    d = day - dt.timedelta(days=1)
    while d.weekday() >= 5 or d in holidays:
        d -= dt.timedelta(days=1)
    return d


def _build_context(seed: int, reps: int, months: int, as_of: dt.date) -> tuple[dict, _Context]:
    """The users' table and the state every block shares: seeds, reps, stage rates, vocabularies."""
    first_date = _add_months(as_of, -months)
    stages = read_stage_map()
    icp = read_icp_rules()
    holidays = read_holidays()
    as_of_day, first_day = _day(as_of), _day(first_date)
    user_table, users = _build_users(seed, reps, first_day, as_of_day)
    other_industries = tuple(i for i in OTHER_INDUSTRIES if i not in icp.industries)
    fit_levels = (
        (icp.technical_fit, *[f for f in FIT_LEVELS if f != icp.technical_fit][:2])
        if icp.technical_fit is not None
        else FIT_LEVELS
    )
    S = stages.n_open
    stage_days = np.maximum(stages.expected_days, 3.0)
    remaining = np.concatenate([np.cumsum(stage_days[:S][::-1])[::-1], [0.0, 0.0]])
    first_quota_month = int(_month_no(np.array([first_day]))[0])
    n_quota_months = int(_month_no(np.array([as_of_day]))[0]) + 7 - first_quota_month
    ctx = _Context(
        seed=seed,
        as_of=as_of_day,
        first_day=first_day,
        stages=stages,
        icp=icp,
        industries=icp.industries + other_industries,
        n_icp_industries=len(icp.industries),
        fit_levels=fit_levels,
        stage_days=stage_days,
        remaining_days=remaining,
        activity_rate=np.concatenate([np.linspace(0.24, 0.42, S), [0.3, 0.3]]),
        meeting_share=np.concatenate([np.linspace(0.12, 0.25, S), [0.2, 0.2]]),
        first_quota_month=first_quota_month,
        n_quota_months=n_quota_months,
        won_by_owner_month=np.zeros((users["n_users"], n_quota_months)),
        previous_business_day=_day(_previous_business_day(as_of, holidays)),
        vocab={
            "name_prefix": _vocab(NAME_PREFIXES),
            "name_root": _vocab(NAME_ROOTS),
            "name_suffix": _vocab(NAME_SUFFIXES),
            "industry": _vocab(icp.industries + other_industries),
            "country": _vocab(COUNTRIES),
            "stage": _vocab(stages.names),
            "forecast_category": _vocab(category_names(stages)),
            "lead_source": _vocab(LEAD_SOURCES),
            "type": _vocab(DEAL_TYPES),
            "trigger": _vocab(TRIGGER_EVENTS),
            "fit": _vocab(fit_levels),
            "vague": _vocab(VAGUE_NEXT_STEPS),
            "concrete": _vocab(CONCRETE_NEXT_STEPS),
            "email_subject": _vocab(EMAIL_SUBJECTS),
            "call_subject": _vocab(CALL_SUBJECTS),
            "other_subject": _vocab(OTHER_TASK_SUBJECTS),
            "meeting_subject": _vocab(MEETING_SUBJECTS),
            "task_subtype": _vocab(("Email", "Call", "Task")),
            "task_type": _vocab(("Email", "Call", "Other")),
            "task_status": _vocab(("Completed", "Not Started")),
            "event_type": _vocab(("Meeting",)),
            "lead_status": _vocab(LEAD_STATUSES),
        },
        **users,
    )
    return user_table, ctx


def generate_demo_data(
    out_dir: str | os.PathLike,
    *,
    reps: int = 20,
    deals: int = 5000,
    months: int = 24,
    as_of_date: dt.date | None = None,
    seed: int = 42,
    file_format: str = "csv",
    camel_case_headers: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write every object of the contract (the eight CRM objects and the two growth inputs)
    to `out_dir`; return the rows written per object.

    `reps` active sales reps (plus a few former, inactive reps and one manager per
    team), `deals` opportunities created over the `months` months up to `as_of_date`
    (default: today, UTC). Files of the other format for the same objects are removed
    so the folder holds one file per object. Runs of more than 50,000 deals report
    progress per block of deals to `progress` (default: a line on stderr).
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {FILE_FORMATS} (got {file_format!r})")
    if reps < 1 or deals < 1 or months < 1:
        raise ValueError("reps, deals and months must each be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    started = time.monotonic()
    as_of = as_of_date or dt.datetime.now(dt.UTC).date()
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    user_table, ctx = _build_context(seed, reps, months, as_of)

    report = progress
    if report is None:

        def report(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    writers = {
        name: _ObjectWriter(obj, out, file_format, camel_case_headers) for name, obj in CRM_OBJECTS.items()
    }
    try:
        writers["user"].write(user_table)
        counters = dict.fromkeys(CRM_OBJECTS, 0)
        n_blocks = -(-deals // CHUNK_DEALS)
        for block in range(n_blocks):
            base = block * CHUNK_DEALS
            size = min(CHUNK_DEALS, deals - base)
            _generate_block(ctx, block, size, base, counters, writers)
            if deals > PROGRESS_MIN_DEALS:
                done = base + size
                report(
                    f"deals {done:,}/{deals:,} ({done * 100 // deals}%) — {time.monotonic() - started:.1f} s"
                )
        writers["forecasting_quota"].write(_quota_table(ctx, seed))
        writers["marketing_spend"].write(marketing_spend_table(ctx))
        writers["subscription"].write(subscription_table(ctx))
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.discard()
        raise
    other = "parquet" if file_format == "csv" else "csv"
    for w in writers.values():
        w.publish()
        (out / f"{w.obj.name}.{other}").unlink(missing_ok=True)
    return {name: w.rows for name, w in writers.items()}
