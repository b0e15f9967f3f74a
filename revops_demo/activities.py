"""task and event: steady work in each stage, bursts around stage changes, deals going
quiet, and follow-ups scheduled ahead of the as-of day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revops_demo.accounts import Accounts
from revops_demo.arrays import _by_stage, _dates, _ids, _shift_off_weekend, _take, _time_of_day, _timestamps
from revops_demo.context import _Context
from revops_demo.deals import Deals
from revops_demo.history import DealState
from revops_demo.vocab import (
    CALL,
    CALL_SUBJECTS,
    CONTACT_PREFIX,
    DAY,
    EMAIL,
    EMAIL_SUBJECTS,
    HOUR,
    KEY_PREFIXES,
    LOST_ENGAGEMENT,
    MEETING,
    MEETING_SUBJECTS,
    OTHER_TASK,
    OTHER_TASK_SUBJECTS,
    WON_ENGAGEMENT,
)
from revops_demo.writer import _ObjectWriter


@dataclass
class Activities:
    """The logged activities kept, ordered by deal and time."""

    deal: np.ndarray
    ts: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    stage: np.ndarray
    future: np.ndarray
    owner: np.ndarray
    deleted: np.ndarray
    what_id: pa.Array


def _draw_activities(
    rng: np.random.Generator, ctx: _Context, d: Deals, s: DealState, accounts: Accounts
) -> Activities:
    A, n, L = ctx.as_of, d.n, d.L
    orig, is_icp, X, seg, P, length = d.orig, d.is_icp, d.X, d.seg, d.P, d.length
    closed, won, T, is_open = d.closed, d.won, d.T, ~d.closed
    created_ts, term_ts = s.created_ts, s.term_ts
    # engaged deals are the ones that win: more activity on the deals that will be won
    eng = ctx.activity[orig] * rng.lognormal(0, 0.3, n) * np.where(is_icp, 1.1, 1.0)
    eng = eng * np.where(won, WON_ENGAGEMENT, LOST_ENGAGEMENT)
    seg_start = X[:, :L]
    seg_ok = seg & (seg_start <= A)
    seg_len = np.where(seg_ok, np.clip(np.minimum(X[:, 1:], A + 15) - seg_start, 0, None), 0)
    cnt = rng.poisson(ctx.activity_rate[P] * eng[:, None] * seg_len)
    flat = np.repeat(np.arange(n * L), cnt.ravel())
    a_deal = flat // L
    a_t = seg_start.ravel()[flat] + rng.random(len(flat)) * seg_len.ravel()[flat]
    a_stage = P.ravel()[flat]
    K1 = np.arange(L + 1)[None, :]
    bmask = (K1 >= 1) & (length[:, None] >= K1) & (X <= A + 15)
    bcnt = rng.poisson(np.where(bmask, 1.6 * eng[:, None], 0.0))
    flatb = np.repeat(np.arange(n * (L + 1)), bcnt.ravel())
    b_deal = flatb // (L + 1)
    b_k = flatb % (L + 1)
    b_t = X.ravel()[flatb] + rng.normal(0, 1.5, len(flatb))
    b_stage = P[b_deal, np.minimum(b_k, length[b_deal] - 1)]
    a_deal = np.concatenate([a_deal, b_deal])
    a_t = np.concatenate([a_t, b_t])
    a_stage = np.concatenate([a_stage, b_stage])
    m = len(a_deal)
    a_day = _shift_off_weekend(np.floor(a_t).astype(np.int64), rng, 0.9)
    kind_r = rng.random(m)
    ms = ctx.meeting_share[a_stage]
    rest = (kind_r - ms) / (1 - ms)
    a_kind = np.where(
        kind_r < ms, MEETING, np.where(rest < 0.6, EMAIL, np.where(rest < 0.97, CALL, OTHER_TASK))
    )
    tod = _time_of_day(rng, a_day, A)
    tod = np.where(a_kind == MEETING, tod // 1800 * 1800, tod)
    a_ts = a_day * DAY + tod
    # deals going quiet: lost deals before the loss, some open deals until today
    life_end = np.where(closed, T, A).astype(float)
    quiet_u = rng.random(n)
    quiet_days = np.where(
        closed & ~won,
        np.where(quiet_u < 0.65, rng.uniform(10, 45, n), 0.0),
        np.where(
            is_open,
            np.where(quiet_u < 0.35, rng.uniform(8, 50, n), 0.0),
            np.where(quiet_u < 0.05, rng.uniform(3, 10, n), 0.0),
        ),
    )
    quiet_from = np.where(quiet_days > 0, life_end - quiet_days, np.inf)
    future = a_day > A
    keep = a_ts >= created_ts[a_deal]
    keep &= ~closed[a_deal] | (a_ts <= term_ts[a_deal])
    keep &= ~future | ((a_day <= A + 14) & (rng.random(m) < 0.5))
    keep &= (a_ts / DAY < quiet_from[a_deal]) | (quiet_days[a_deal] == 0)
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((a_ts[idx], a_deal[idx]))]
    a_deal, a_ts, a_day, a_kind, a_stage, future = (
        a_deal[idx],
        a_ts[idx],
        a_day[idx],
        a_kind[idx],
        a_stage[idx],
        future[idx],
    )
    a_owner = np.where(a_day >= d.handover_day[a_deal], d.owner[a_deal], orig[a_deal])
    a_deleted = s.opp_deleted[a_deal] | (rng.random(len(a_deal)) < 0.001)
    on_account = rng.random(len(a_deal)) < 0.03
    what_id = pc.if_else(
        pa.array(on_account), accounts.ids.take(pa.array(d.account[a_deal])), s.opp_ids.take(pa.array(a_deal))
    )
    return Activities(a_deal, a_ts, a_day, a_kind, a_stage, future, a_owner, a_deleted, what_id)


def _write_tasks(
    rng: np.random.Generator,
    ctx: _Context,
    d: Deals,
    s: DealState,
    a: Activities,
    counters: dict[str, int],
    writer: _ObjectWriter,
) -> None:
    S, vocab, no_later = ctx.stages.n_open, ctx.vocab, ctx.no_later
    is_open, created_ts, deal_numbers = ~d.closed, s.created_ts, s.deal_numbers
    is_task = a.kind != MEETING
    t = np.flatnonzero(is_task)
    t_n = len(t)
    t_future = a.future[t]
    t_kind = a.kind[t]
    t_ts = a.ts[t]
    t_deal = a.deal[t]
    overdue = ~t_future & is_open[t_deal] & (rng.random(t_n) < 0.02)
    not_started = t_future | overdue
    created_lead = np.where(t_kind == EMAIL, 0, rng.integers(0, 2 * DAY, t_n))
    t_created = np.where(
        not_started,
        np.minimum(t_ts - rng.integers(DAY, 7 * DAY, t_n), no_later),
        t_ts - created_lead,
    )
    t_created = np.minimum(np.maximum(t_created, created_ts[t_deal]), no_later)
    t_created = np.where(not_started, t_created, np.minimum(t_created, t_ts))
    no_completed = not_started | (rng.random(t_n) < 0.05)
    t_stage_frac = np.minimum(a.stage[t], S - 1) / max(S - 1, 1)
    t_subject = pc.if_else(
        pa.array(t_kind == EMAIL),
        _take(vocab["email_subject"], _by_stage(rng, t_stage_frac, len(EMAIL_SUBJECTS), 4)),
        pc.if_else(
            pa.array(t_kind == CALL),
            _take(vocab["call_subject"], _by_stage(rng, t_stage_frac, len(CALL_SUBJECTS), 3)),
            _take(vocab["other_subject"], rng.integers(len(OTHER_TASK_SUBJECTS), size=t_n)),
        ),
    )
    t_type = np.select([t_kind == EMAIL, t_kind == CALL], [0, 1], 2)
    who = (deal_numbers[t_deal] - 1) * 3 + 1 + rng.integers(0, 3, t_n)
    task_numbers = counters["task"] + 1 + np.arange(t_n)
    counters["task"] += t_n
    writer.write(
        {
            "id": _ids(KEY_PREFIXES["task"], task_numbers),
            "what_id": a.what_id.take(pa.array(t)),
            "who_id": _ids(CONTACT_PREFIX, who, mask=rng.random(t_n) < 0.08),
            "owner_id": _ids(KEY_PREFIXES["user"], a.owner[t] + 1),
            "subject": t_subject,
            "task_subtype": _take(vocab["task_subtype"], t_type),
            "type": _take(vocab["task_type"], t_type),
            "status": _take(vocab["task_status"], not_started.astype(int)),
            "activity_date": _dates(t_ts // DAY),
            "created_date": _timestamps(t_created),
            "completed_date_time": _timestamps(t_ts, mask=no_completed),
            "is_closed": pa.array(~not_started),
            "is_deleted": pa.array(a.deleted[t]),
        }
    )


def _write_events(
    rng: np.random.Generator,
    ctx: _Context,
    s: DealState,
    a: Activities,
    counters: dict[str, int],
    writer: _ObjectWriter,
) -> None:
    S, vocab, no_later = ctx.stages.n_open, ctx.vocab, ctx.no_later
    created_ts = s.created_ts
    e = np.flatnonzero(a.kind == MEETING)
    e_n = len(e)
    e_ts = a.ts[e]
    e_deal = a.deal[e]
    e_created = np.maximum(
        e_ts - rng.integers(1, 10, e_n) * DAY + rng.integers(-3 * HOUR, 3 * HOUR, e_n), created_ts[e_deal]
    )
    e_created = np.minimum(np.minimum(e_created, e_ts), no_later)
    e_stage_frac = np.minimum(a.stage[e], S - 1) / max(S - 1, 1)
    e_subject = _by_stage(rng, e_stage_frac, len(MEETING_SUBJECTS), 3)
    event_numbers = counters["event"] + 1 + np.arange(e_n)
    counters["event"] += e_n
    writer.write(
        {
            "id": _ids(KEY_PREFIXES["event"], event_numbers),
            "what_id": a.what_id.take(pa.array(e)),
            "owner_id": _ids(KEY_PREFIXES["user"], a.owner[e] + 1),
            "subject": _take(vocab["meeting_subject"], e_subject),
            "type": _take(vocab["event_type"], np.zeros(e_n, np.int64)),
            "start_date_time": _timestamps(e_ts),
            "end_date_time": _timestamps(e_ts + rng.choice([1800, 2700, 3600], e_n)),
            "created_date": _timestamps(e_created),
            "is_deleted": pa.array(a.deleted[e]),
        }
    )


def write_activities(
    rng: np.random.Generator,
    ctx: _Context,
    d: Deals,
    s: DealState,
    accounts: Accounts,
    counters: dict[str, int],
    writers: dict[str, _ObjectWriter],
) -> None:
    a = _draw_activities(rng, ctx, d, s, accounts)
    _write_tasks(rng, ctx, d, s, a, counters, writers["task"])
    _write_events(rng, ctx, s, a, counters, writers["event"])
