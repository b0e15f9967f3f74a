"""opportunity: each deal's current state, with next steps (which are not in the history)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revops_demo.accounts import Accounts
from revops_demo.arrays import _by_stage, _dates, _ids, _take, _time_of_day, _timestamps
from revops_demo.context import _Context
from revops_demo.deals import Deals
from revops_demo.history import DealState, crm_probability
from revops_demo.vocab import (
    CONCRETE_NEXT_STEPS,
    DAY,
    HOUR,
    KEY_PREFIXES,
    NEXT_STEP_DATE_SHARES,
    VAGUE_NEXT_STEPS,
)
from revops_demo.writer import _ObjectWriter


def _next_steps(
    rng: np.random.Generator, ctx: _Context, d: Deals, s: DealState
) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """Next step text, its date and the date's null mask, and last_modified_date."""
    A, S, n, L = ctx.as_of, ctx.stages.n_open, d.n, d.L
    closed, length, X, P, T, owner = d.closed, d.length, d.X, d.P, d.T, d.owner
    last_hist_ts, term_ts, vocab = s.last_hist_ts, s.term_ts, ctx.vocab
    rows = np.arange(n)
    cur_seg = np.where(closed, length - 1, (X[:, :L] <= A).sum(axis=1) - 1)
    is_open = ~closed
    kind_u = rng.random(n)
    blank_p = 0.06 + 0.3 * (1 - ctx.diligence[owner])
    ns_kind = np.where(
        kind_u < blank_p, 0, np.where(kind_u < blank_p + 0.12, 1, 2)
    )  # 0 blank 1 vague 2 concrete
    stage_frac = P[rows, np.minimum(cur_seg, length - 1)] / max(S - 1, 1)
    date_u = rng.random(n)
    # the next step's date by stage (0 first open stage, 1 last): late-stage deals mostly
    # have one in the coming week (more so when closing soon), early-stage ones 1-4 weeks out;
    # some overdue, some undated
    sh = NEXT_STEP_DATE_SHARES  # cumulative bounds per deal: overdue, today, week, later
    c_overdue = sh["overdue"][0] + (sh["overdue"][1] - sh["overdue"][0]) * stage_frac
    c_today = c_overdue + sh["today"][0] + (sh["today"][1] - sh["today"][0]) * stage_frac
    closing_soon = (s.cur_cd >= A) & (s.cur_cd <= A + sh["closing_soon_days"])
    week_share = sh["week"][0] + (sh["week"][1] - sh["week"][0]) * stage_frac**2
    week_share = week_share + np.where(closing_soon, sh["closing_soon_week"], 0.0)
    c_later = 1 - sh["undated"]
    c_week = np.minimum(c_today + week_share, c_later)
    offset = np.select(
        [date_u < c_overdue, date_u < c_today, date_u < c_week, date_u < c_later],
        [-rng.integers(1, 30, n), np.zeros(n, np.int64), rng.integers(1, 8, n), rng.integers(8, 29, n)],
        default=0,
    )
    ns_has_date = np.where(ns_kind == 2, date_u < c_later, np.where(ns_kind == 1, date_u < 0.7, date_u < 0.1))
    ns_date = A + offset
    concrete = _by_stage(rng, stage_frac, len(CONCRETE_NEXT_STEPS), 4)
    vague = rng.integers(len(VAGUE_NEXT_STEPS), size=n)
    # closed deals: a quarter keep their last concrete next step, dated before closing
    keep_closed = closed & (rng.random(n) < 0.25)
    ns_text_kind = np.where(is_open, ns_kind, np.where(keep_closed, 2, 0))
    ns_date = np.where(is_open, ns_date, T - rng.integers(0, 10, n))
    ns_date_mask = ~np.where(is_open, ns_has_date, keep_closed)
    ns_text = pc.if_else(
        pa.array(ns_text_kind == 1),
        _take(vocab["vague"], vague),
        _take(vocab["concrete"], concrete, mask=ns_text_kind == 0),
    )
    ns_edit_day = np.where(is_open, np.maximum(last_hist_ts // DAY, A - rng.integers(0, 21, n)), T)
    ns_edit_ts = np.maximum(ns_edit_day * DAY + _time_of_day(rng, ns_edit_day, A), last_hist_ts)
    no_later = ctx.no_later  # nothing is dated after the as-of morning
    last_modified = np.where(
        closed,
        term_ts + rng.integers(60, 6 * HOUR, n),
        np.where(ns_text_kind > 0, ns_edit_ts, last_hist_ts + rng.integers(0, 2 * HOUR, n)),
    )
    last_modified = np.maximum(np.minimum(last_modified, no_later), last_hist_ts)
    return ns_text, ns_date, ns_date_mask, last_modified


def write_opportunities(
    rng: np.random.Generator,
    ctx: _Context,
    d: Deals,
    s: DealState,
    accounts: Accounts,
    writer: _ObjectWriter,
) -> None:
    sm, vocab = ctx.stages, ctx.vocab
    S = sm.n_open
    ns_text, ns_date, ns_date_mask, last_modified = _next_steps(rng, ctx, d, s)
    type_label = _take(vocab["type"], d.deal_type)
    opp_name = pc.binary_join_element_wise(accounts.names.take(pa.array(d.account)), type_label, " - ")
    writer.write(
        {
            "id": s.opp_ids,
            "account_id": accounts.ids.take(pa.array(d.account)),
            "owner_id": _ids(KEY_PREFIXES["user"], d.owner + 1),
            "name": opp_name,
            "stage_name": _take(vocab["stage"], s.cur_stage),
            "amount": pa.array(s.cur_amt),
            "close_date": _dates(s.cur_cd),
            "created_date": _timestamps(s.created_ts),
            "last_modified_date": _timestamps(last_modified),
            "is_closed": pa.array(s.cur_stage >= S),
            "is_won": pa.array(s.cur_stage == sm.won),
            "forecast_category_name": _take(vocab["forecast_category"], s.cur_cat),
            "probability": pa.array(crm_probability(ctx, s.cur_stage, d.orig, d.crm_noise)),
            "lead_source": _take(vocab["lead_source"], d.source),
            "type": type_label,
            "next_step": ns_text,
            "next_step_date_c": _dates(ns_date, mask=ns_date_mask),
            "trigger_event_c": _take(vocab["trigger"], d.trigger, mask=~d.has_trigger),
            "technical_fit_c": _take(vocab["fit"], d.fit),
            "is_deleted": pa.array(s.opp_deleted),
        }
    )
