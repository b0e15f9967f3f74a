"""opportunity_history: a row on entering each stage, on each push and on closing; only what
happened by the as-of day. Also the deals' current state, which is their last history row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from revops_demo.arrays import _dates, _ids, _take, _time_of_day, _timestamps
from revops_demo.context import _Context
from revops_demo.deals import Deals
from revops_demo.forecast_calls import forecast_category, quarter_reviews
from revops_demo.seeds import StageMap
from revops_demo.vocab import CRM_OPTIMISM_POINTS, DAY, DELETED_SHARE, KEY_PREFIXES, PUSHES
from revops_demo.writer import _ObjectWriter


@dataclass
class DealState:
    """Each deal's ids and its state as of the as-of day."""

    deal_numbers: np.ndarray
    opp_ids: pa.Array
    opp_deleted: np.ndarray
    created_ts: np.ndarray
    cur_stage: np.ndarray
    cur_amt: np.ndarray
    cur_cd: np.ndarray
    last_hist_ts: np.ndarray
    cur_cat: np.ndarray  # index into forecast_calls.category_names
    term_ts: np.ndarray  # when it closed (or will close)


def _probability_pct(sm: StageMap) -> np.ndarray:
    """Stage probability as Salesforce stores it: a percentage 0-100."""
    return np.round(sm.probability * 100, 6)


def crm_probability(ctx: _Context, stage: np.ndarray, rep: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The CRM's `probability` as reps leave it: the stage map's default plus the rep's
    optimism (0-20 points in steps of 5, the more optimistic the rep the more) plus the deal's
    own noise (`noise` points, drawn once per deal, blind to the outcome), within 1-99;
    closed stages keep 100 / 0. The real win chance follows ICP fit, source, type, the rep's
    skill and the deal's activity, which the field does not see."""
    sm = ctx.stages
    bump = np.clip(np.round((1.0 - ctx.optimism[rep]) * CRM_OPTIMISM_POINTS / 5) * 5, 0, 20)
    pct = _probability_pct(sm)[stage]
    return np.where(stage < sm.n_open, np.clip(pct + bump + noise, 1.0, 99.0), pct)


def write_history(
    rng: np.random.Generator,
    ctx: _Context,
    d: Deals,
    deal_base: int,
    counters: dict[str, int],
    writer: _ObjectWriter,
) -> DealState:
    A, sm, n, L = ctx.as_of, ctx.stages, d.n, d.L
    rows = np.arange(n)
    cols_day, cols_stage, cols_cd, cols_amt, cols_exists = [], [], [], [], []
    for j in range(L):
        cols_day.append(d.X[:, j])
        cols_stage.append(d.P[:, j])
        cols_cd.append(d.ent_cd[:, j])
        cols_amt.append(d.ent_amt[:, j])
        cols_exists.append(j < d.length)
        for p in range(PUSHES):
            cols_day.append(d.q_day[:, j, p])
            cols_stage.append(d.P[:, j])
            cols_cd.append(d.q_cd[:, j, p])
            cols_amt.append(d.q_amt[:, j, p])
            cols_exists.append(d.q_day[:, j, p] >= 0)
    cols_day.append(d.T)
    cols_stage.append(np.where(d.won, sm.won, sm.lost))
    cols_cd.append(d.T)
    cols_amt.append(d.final_amount)
    cols_exists.append(np.ones(n, bool))
    ev_day = np.stack(cols_day, axis=1)
    ev_stage = np.stack(cols_stage, axis=1)
    ev_cd = np.stack(cols_cd, axis=1)
    ev_amt = np.stack(cols_amt, axis=1)
    ev_valid = np.stack(cols_exists, axis=1) & (ev_day <= A)
    ev_ts = ev_day * DAY + _time_of_day(rng, ev_day, A)
    created_ts, term_ts = ev_ts[:, 0], ev_ts[:, -1]
    confidence = d.confidence[:, None]
    ev_cat = forecast_category(sm, ev_stage, ev_cd, ev_day, confidence)
    ev = {"day": ev_day, "ts": ev_ts, "stage": ev_stage, "cd": ev_cd, "amt": ev_amt, "cat": ev_cat}
    rv = quarter_reviews(rng, sm, ctx.first_day, A, {**ev, "valid": ev_valid}, d.T, d.confidence)
    ev = {k: np.concatenate([v, rv[k]], axis=1) for k, v in ev.items()}
    ev_valid = np.concatenate([ev_valid, rv["valid"]], axis=1)
    order = np.argsort(np.where(ev_valid, ev["ts"], np.iinfo(np.int64).max), axis=1, kind="stable")
    ev = {k: np.take_along_axis(v, order, axis=1) for k, v in ev.items()}
    ev_valid = np.take_along_axis(ev_valid, order, axis=1)
    ev_day, ev_ts, ev_stage, ev_cd, ev_amt, ev_cat = (
        ev[k] for k in ("day", "ts", "stage", "cd", "amt", "cat")
    )
    h_row, h_col = np.nonzero(ev_valid)
    n_cols = ev_day.shape[1]
    last_col = n_cols - 1 - np.argmax(ev_valid[:, ::-1], axis=1)
    state = DealState(
        deal_numbers=deal_base + 1 + rows,
        opp_ids=_ids(KEY_PREFIXES["opportunity"], deal_base + 1 + rows),
        opp_deleted=rng.random(n) < DELETED_SHARE,
        created_ts=created_ts,
        cur_stage=ev_stage[rows, last_col],
        cur_amt=ev_amt[rows, last_col],
        cur_cd=ev_cd[rows, last_col],
        last_hist_ts=ev_ts[rows, last_col],
        cur_cat=ev_cat[rows, last_col],
        term_ts=term_ts,
    )
    n_hist = len(h_row)
    hist_numbers = counters["opportunity_history"] + 1 + np.arange(n_hist)
    counters["opportunity_history"] += n_hist
    hist_stage = ev_stage[h_row, h_col]
    writer.write(
        {
            "id": _ids(KEY_PREFIXES["opportunity_history"], hist_numbers),
            "opportunity_id": state.opp_ids.take(pa.array(h_row)),
            "stage_name": _take(ctx.vocab["stage"], hist_stage),
            "amount": pa.array(ev_amt[h_row, h_col]),
            "close_date": _dates(ev_cd[h_row, h_col]),
            "probability": pa.array(crm_probability(ctx, hist_stage, d.orig[h_row], d.crm_noise[h_row])),
            "forecast_category": _take(ctx.vocab["forecast_category"], ev_cat[h_row, h_col]),
            "created_date": _timestamps(ev_ts[h_row, h_col]),
            "is_deleted": pa.array(state.opp_deleted[h_row]),
        }
    )
    return state
