"""Deals: who sells what to whom, whether it is won, its path through the stages, the days
each stage was entered, and the close dates and amounts as they changed on the way."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from revops_demo.accounts import Accounts
from revops_demo.arrays import _growth_days, _month_end, _quarter_end, _round_to, _shift_off_weekend
from revops_demo.context import _Context
from revops_demo.vocab import (
    CATCH_UP_BASE,
    CATCH_UP_DILIGENCE,
    CATCH_UP_LATE_DAYS,
    CATCH_UP_SAME_DAY,
    CLOSE_DATE_REALISM,
    CLOSE_ON_DATE_MAX_DAYS,
    CLOSE_ON_DATE_SHARE,
    CRM_NOISE_POINTS,
    DEAL_TYPE_WEIGHTS,
    DEAL_TYPES,
    INBOUND_SOURCES,
    INBOUND_WEIGHTS,
    LOST_LINGER,
    MONTH_END_SNAP,
    NEGLECTED_SHARE,
    NEVER,
    OPENING_BOOK_SHARE,
    OUTBOUND_SOURCES,
    OUTBOUND_WEIGHTS,
    PERIOD_END_CATCH_UP,
    PLAN_PACE_KNOWN,
    PLANNED_PUSHES,
    PUSHES,
    QUARTER_END_SNAP,
    REPLAN_ON_PUSH,
    SOURCE_WIN_ADJ,
    TEAMS,
    TRIGGER_EVENTS,
    TYPE_SIZE,
    TYPE_WIN_ADJ,
)


@dataclass
class Deals:
    """One block's deals; arrays of length n, `(n, L)` per open segment, `(n, L + 1)` for X."""

    n: int
    L: int  # max open segments: every open stage plus one regression (back and forth)
    deal_type: np.ndarray  # index into DEAL_TYPES
    account: np.ndarray  # index into the block's accounts
    created_day: np.ndarray
    orig: np.ndarray  # the rep who opened the deal
    inbound: np.ndarray
    source: np.ndarray  # index into LEAD_SOURCES
    industry: np.ndarray
    employees: np.ndarray
    has_trigger: np.ndarray
    trigger: np.ndarray
    fit: np.ndarray
    n_crit: np.ndarray
    is_icp: np.ndarray
    book: np.ndarray  # in the opening book (in progress when the history starts)
    won: np.ndarray
    length: np.ndarray  # open segments the deal goes through
    P: np.ndarray  # stage code of each segment
    seg: np.ndarray  # segment exists
    X: np.ndarray  # day each segment was entered; X[:, length] = closing day
    T: np.ndarray  # closing day
    closed: np.ndarray  # closed by as-of
    owner: np.ndarray  # the owner now (a replacement when the rep left while it was open)
    handover_day: np.ndarray
    team_cycle: np.ndarray
    pace: np.ndarray  # the deal's pace through the stages (team cycle, faster for ICP fit)
    ent_cd: np.ndarray = None  # close date and amount on entering each segment
    ent_amt: np.ndarray = None
    q_day: np.ndarray = None  # (n, L, PUSHES): days of the pushes within each segment (-1: none)
    q_cd: np.ndarray = None
    q_amt: np.ndarray = None
    final_amount: np.ndarray = None
    confidence: np.ndarray = None  # how sure the rep is of the deal (0-1): its forecast category
    crm_noise: np.ndarray = None  # points the deal's CRM probability is off, whatever happens


def _who(rng: np.random.Generator, ctx: _Context, n: int, accounts: Accounts) -> dict[str, np.ndarray]:
    """Type, account, creation day, owner, lead source and ICP criteria of each deal."""
    n_acc = accounts.n
    dtype_ = rng.choice(len(DEAL_TYPES), n, p=DEAL_TYPE_WEIGHTS)
    acc = rng.integers(0, n_acc, n)
    nb_idx = np.flatnonzero(dtype_ == 0)
    k = min(len(nb_idx), n_acc)
    acc[nb_idx[:k]] = rng.permutation(n_acc)[:k]  # new business first spreads over accounts
    cday = _growth_days(rng, n, ctx.first_day, ctx.as_of)
    # the opening book: deals already in progress when the history starts, entered in its
    # first two weeks at the stage they had reached (so the first quarters have a pipeline)
    book = rng.random(n) < OPENING_BOOK_SHARE
    cday = np.where(book, np.minimum(ctx.first_day + rng.integers(0, 14, n), ctx.as_of), cday)
    cday = _shift_off_weekend(cday, rng, 0.92, latest=ctx.as_of)
    orig = accounts.owner[acc]
    orig = np.where(cday >= ctx.departure[orig], ctx.replacement[orig], orig)
    inbound = rng.random(n) < np.where(dtype_ == 0, 0.5, 0.35)
    src = np.where(
        inbound,
        rng.choice(len(INBOUND_SOURCES), n, p=INBOUND_WEIGHTS),
        len(INBOUND_SOURCES) + rng.choice(len(OUTBOUND_SOURCES), n, p=OUTBOUND_WEIGHTS),
    )
    icp = ctx.icp
    industry, employees = accounts.industry[acc], accounts.employees[acc]
    industry_ok = industry < ctx.n_icp_industries if icp.industries else np.ones(n, bool)
    size_ok = np.ones(n, bool)
    if icp.min_employees is not None:
        size_ok &= employees >= icp.min_employees
    if icp.max_employees is not None:
        size_ok &= employees <= icp.max_employees
    firmo = industry_ok & size_ok
    has_trigger = rng.random(n) < np.where(firmo, 0.9, 0.6)
    trigger = rng.integers(len(TRIGGER_EVENTS), size=n)
    strong = rng.random(n) < np.where(firmo, 0.8, 0.35)
    fit = np.where(strong, 0, np.where(rng.random(n) < 0.6, 1, 2))
    trigger_ok = has_trigger if icp.trigger_required else np.ones(n, bool)
    fit_ok = fit == 0 if icp.technical_fit is not None else np.ones(n, bool)
    n_crit = industry_ok.astype(int) + size_ok + trigger_ok + fit_ok
    return {
        "deal_type": dtype_,
        "account": acc,
        "created_day": cday,
        "orig": orig,
        "inbound": inbound,
        "source": src,
        "industry": industry,
        "employees": employees,
        "has_trigger": has_trigger,
        "trigger": trigger,
        "fit": fit,
        "n_crit": n_crit,
        "is_icp": n_crit == 4,
        "book": book,
    }


def _path(rng: np.random.Generator, ctx: _Context, n: int, w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Won or lost, and the stage of each open segment (regressions and skips included)."""
    S = ctx.stages.n_open
    L = S + 2
    K = np.arange(L)[None, :]
    dtype_, is_icp, inbound = w["deal_type"], w["is_icp"], w["inbound"]
    logit = (
        -2.2
        + 0.3 * w["n_crit"]
        + 0.7 * is_icp
        + TYPE_WIN_ADJ[dtype_]
        + SOURCE_WIN_ADJ[w["source"]]
        + np.log(ctx.skill[w["orig"]])
    )
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    p_skip_first = np.where(inbound, 0.15, 0.05) + np.where(dtype_ > 0, 0.2, 0.0)
    start = np.where((rng.random(n) < p_skip_first) & (S >= 3), 1, 0)
    wt = 0.78 ** np.arange(S)
    book_wt = ctx.stage_days[:S] * wt  # the stages open deals are in: long ones, early ones
    start = np.where(w["book"], rng.choice(S, n, p=book_wt / book_wt.sum()), start)
    u = rng.random(n)
    lost_at = np.zeros(n, np.int64)
    for s0 in range(S):  # lost in a stage from the first one it is in, fewer further on
        c = np.cumsum(wt[s0:]) / wt[s0:].sum()
        lost_at = np.where(start == s0, s0 + np.searchsorted(c, u, "right"), lost_at)
    end = np.where(won, S - 1, np.minimum(lost_at, S - 1))
    base = end - start + 1
    has_reg = (rng.random(n) < np.where(is_icp, 0.07, 0.12)) & (base >= 2)
    r = np.minimum(1 + (rng.random(n) * np.maximum(base - 1, 1)).astype(int), np.maximum(base - 1, 1))
    reg_stop = has_reg & ~won & (r == base - 1) & (rng.random(n) < 0.4)  # back a stage, then lost
    has_skip = ~has_reg & (base >= 3) & (rng.random(n) < 0.05)
    q = 1 + (rng.random(n) * np.maximum(base - 2, 1)).astype(int)
    length = base + np.where(has_reg, np.where(reg_stop, 1, 2), 0) - has_skip
    st, rr, qq = start[:, None], r[:, None], q[:, None]
    P = st + K
    P = np.where(
        has_reg[:, None], np.where(rr >= K, st + K, np.where(rr + 1 == K, st + rr - 1, st + K - 2)), P
    )
    P = np.where(has_skip[:, None], np.where(qq > K, st + K, st + K + 1), P)
    seg = length[:, None] > K
    P = np.where(seg, P, 0)
    return {"L": L, "won": won, "length": length, "P": P, "seg": seg, "has_reg": has_reg, "r": r}


def _timeline(
    rng: np.random.Generator, ctx: _Context, n: int, w: dict[str, np.ndarray], p: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """How long each segment lasts, the day it was entered, and who owns the deal now."""
    L, P, seg, length, won = p["L"], p["P"], p["seg"], p["length"], p["won"]
    K = np.arange(L)[None, :]
    rr = p["r"][:, None]
    is_icp, orig, cday = w["is_icp"], w["orig"], w["created_day"]
    team_cycle = np.array([TEAMS[t].cycle for t in range(len(TEAMS))])[ctx.team[orig]]
    pace = team_cycle * np.where(is_icp, 0.72, 1.0 + 0.1 * (4 - w["n_crit"]))
    D = ctx.stage_days[P] * pace[:, None] * rng.lognormal(0, 0.45, (n, L))
    D = np.where(p["has_reg"][:, None] & (rr + 1 == K), D * 0.6, D)
    stuck_u = rng.random(n)  # 12% stuck in one stage for a while, 3% for months
    stuck_k = (rng.random(n) * length).astype(int)
    stuck_by = np.where(
        stuck_u < 0.03, rng.uniform(6.0, 12.0, n), np.where(stuck_u < 0.15, rng.uniform(2.5, 5.0, n), 1.0)
    )
    D = np.where(stuck_k[:, None] == K, D * stuck_by[:, None], D)
    last_seg = (length - 1)[:, None] == K
    D = np.where(~won[:, None] & last_seg, D * np.where(is_icp, *LOST_LINGER)[:, None], D)
    Dint = np.where(seg, np.maximum(1, np.rint(D)), 0).astype(np.int64)
    X = np.concatenate([cday[:, None], cday[:, None] + np.cumsum(Dint, axis=1)], axis=1)
    X[:, 1:] = _shift_off_weekend(X[:, 1:], rng, 0.85)
    for j in range(1, L + 1):
        X[:, j] = np.where(j <= length, np.maximum(X[:, j], X[:, j - 1] + 1), X[:, j])
    T = X[np.arange(n), length]
    owner = np.where(ctx.departure[orig] < T, ctx.replacement[orig], orig)  # open when rep left
    return {
        "X": X,
        "T": T,
        "closed": ctx.as_of >= T,
        "owner": owner,
        "handover_day": np.where(owner != orig, ctx.departure[orig], NEVER),
        "team_cycle": team_cycle,
        "pace": pace,
    }


def _close_dates_and_amounts(rng: np.random.Generator, ctx: _Context, d: Deals) -> None:
    """The close date and amount on entering each segment, and up to two pushes per segment."""
    n, L, S = d.n, d.L, ctx.stages.n_open
    X, P, team_cycle = d.X, d.P, d.team_cycle
    plan_pace = team_cycle + PLAN_PACE_KNOWN * (d.pace - team_cycle)  # reps half-know the deal's pace
    dil = ctx.diligence[d.orig]
    opt = (ctx.optimism[d.orig] + CLOSE_DATE_REALISM) * rng.uniform(0.8, 1.1, n)
    team_size = np.array([t.deal_size for t in TEAMS])[ctx.team[d.orig]]
    amount = (
        team_size
        * TYPE_SIZE[d.deal_type]
        * rng.lognormal(0, 0.55, n)
        * np.clip((d.employees / 250.0) ** 0.2, 0.6, 1.8)
    )
    amount = _round_to(amount, 100.0)

    def planned_close(day: np.ndarray, stage: np.ndarray, snap: float) -> np.ndarray:
        est = day + np.maximum(np.rint(opt * ctx.remaining_days[stage] * plan_pace), 1).astype(np.int64)
        u = rng.random(n)
        return np.where(
            u < QUARTER_END_SNAP,
            _quarter_end(est),
            np.where(u < QUARTER_END_SNAP + snap, _month_end(est), est),
        )

    cd = planned_close(X[:, 0], P[:, 0], MONTH_END_SNAP)
    ent_cd = np.zeros((n, L), np.int64)
    ent_amt = np.zeros((n, L))
    q_day = np.full((n, L, PUSHES), -1, np.int64)
    q_cd = np.zeros((n, L, PUSHES), np.int64)
    q_amt = np.zeros((n, L, PUSHES))
    # deals the rep has given up on without closing them: the date set on entering the last
    # stage is a hope, and once it passes nobody moves it (the slipped deals that sit in the
    # pipeline with a stale date)
    neglected = ~d.won & (rng.random(n) < NEGLECTED_SHARE * (1.5 - dil))
    for j in range(L):
        active = j < d.length
        e, nxt = X[:, j], X[:, j + 1]
        if j > 0:
            fix = active & (cd < e) & (rng.random(n) < dil)
            cd = np.where(fix, np.maximum(planned_close(e, P[:, j], MONTH_END_SNAP), e + 1), cd)
            change = active & (P[:, j] >= S // 2) & (rng.random(n) < 0.18)
            amount = np.where(change, _round_to(amount * rng.uniform(0.75, 1.2, n), 100.0), amount)
        # a deal given up on keeps the hopeful date it got on entering its last stage
        hope = active & neglected & (j == d.length - 1)
        cd = np.where(hope, e + np.rint(rng.uniform(5, 25, n) * team_cycle).astype(np.int64), cd)
        ent_cd[:, j], ent_amt[:, j] = cd, amount
        for p in range(PUSHES):
            if p < PLANNED_PUSHES:  # the rep pushes around the planned date
                day = cd + rng.integers(-4, 8, n)
                push = active & (day > e) & (day < nxt) & (rng.random(n) < dil * 0.9)
            else:  # the pipeline review catches a date that has just passed
                day = cd + np.where(
                    rng.random(n) < CATCH_UP_SAME_DAY, 0, rng.integers(1, CATCH_UP_LATE_DAYS, n)
                )
                push = (
                    active
                    & ~(neglected & (j == d.length - 1))
                    & (day > e)
                    & (day < nxt)
                    & (
                        rng.random(n)
                        < CATCH_UP_BASE
                        + CATCH_UP_DILIGENCE * dil
                        + PERIOD_END_CATCH_UP * (cd == _month_end(cd))
                    )
                )
            # the new date: a few weeks on, or what the stage still needs when that is later
            new = day + np.rint(rng.uniform(10, 40, n) * team_cycle).astype(np.int64)
            new = np.where(rng.random(n) < 0.4, _month_end(new), new)
            replan = planned_close(day, P[:, j], MONTH_END_SNAP)
            new = np.where(rng.random(n) < REPLAN_ON_PUSH, np.maximum(new, replan), new)
            cd = np.where(push, new, cd)
            change = push & (rng.random(n) < 0.12)
            amount = np.where(change, _round_to(amount * rng.uniform(0.8, 1.1, n), 100.0), amount)
            q_day[:, j, p] = np.where(push, day, -1)
            q_cd[:, j, p], q_amt[:, j, p] = cd, amount
    d.final_amount = np.where(
        d.won & (rng.random(n) < 0.3), _round_to(amount * rng.uniform(0.85, 1.0, n), 100.0), amount
    )
    d.ent_cd, d.ent_amt, d.q_day, d.q_cd, d.q_amt = ent_cd, ent_amt, q_day, q_cd, q_amt
    d.confidence = rng.random(n)
    d.crm_noise = np.round(rng.normal(0, CRM_NOISE_POINTS, n) / 5) * 5


def _close_on_the_date(rng: np.random.Generator, ctx: _Context, d: Deals) -> None:
    """A deal ready before its close date mostly signs on that date (the buyer's month or
    quarter end, the rep's push for the period): CLOSE_ON_DATE_SHARE of the won deals whose
    close date in effect is at most CLOSE_ON_DATE_MAX_DAYS after the day they were ready close
    on it instead; what depends on the closing day follows."""
    cd = d.q_cd[np.arange(d.n), d.length - 1, -1]
    ready = d.T
    wait = (
        d.won
        & (cd > ready)
        & (cd - ready <= CLOSE_ON_DATE_MAX_DAYS)
        & (rng.random(d.n) < CLOSE_ON_DATE_SHARE)
    )
    d.T = np.where(wait, cd, ready)
    d.X[np.arange(d.n), d.length] = d.T
    d.closed = ctx.as_of >= d.T
    d.owner = np.where(ctx.departure[d.orig] < d.T, ctx.replacement[d.orig], d.orig)
    d.handover_day = np.where(d.owner != d.orig, ctx.departure[d.orig], NEVER)


def draw_deals(rng: np.random.Generator, ctx: _Context, n: int, accounts: Accounts) -> Deals:
    """The block's deals, drawn in a fixed order (the order is part of the data)."""
    w = _who(rng, ctx, n, accounts)
    p = _path(rng, ctx, n, w)
    t = _timeline(rng, ctx, n, w, p)
    for helper in ("has_reg", "r"):
        p.pop(helper)
    deals = Deals(n=n, **w, **p, **t)
    _close_dates_and_amounts(rng, ctx, deals)
    _close_on_the_date(rng, ctx, deals)
    return deals
