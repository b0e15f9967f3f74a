"""The reps' forecast calls: each history row's forecast category (Commit / Best Case /
Pipeline) as the rep sets it from the deal's stage and whether its close date falls in the
current quarter, and the review rows of each quarter's kick-off, when reps move the deals
dated in the new quarter into its forecast (docs/demo_data.md, "Calls and probabilities")."""

from __future__ import annotations

import numpy as np

from revops_demo.arrays import _quarter_start
from revops_demo.seeds import StageMap
from revops_demo.vocab import BEST_CASE_SHARES, COMMIT_SHARES, DAY, HOUR

PIPELINE, BEST_CASE, COMMIT = "Pipeline", "Best Case", "Commit"


def category_names(sm: StageMap) -> tuple[str, ...]:
    """The forecast categories the history uses: the three of an open deal, then those of the
    stage map's closed stages."""
    closed = [c for c in sm.forecast_category[sm.n_open :] if c not in (PIPELINE, BEST_CASE, COMMIT)]
    return (PIPELINE, BEST_CASE, COMMIT, *dict.fromkeys(closed))


def forecast_category(
    sm: StageMap, stage: np.ndarray, close_day: np.ndarray, day: np.ndarray, confidence: np.ndarray
) -> np.ndarray:
    """Index into `category_names` of the category a rep sets on `day` for a deal in `stage`
    with close date `close_day`; `confidence` (0-1, one per deal, broadcast) is how sure the
    rep is of the deal. Dated in the current quarter: the stage's COMMIT_SHARES of the deals
    (counted from the last open stage back) are Commit, the next BEST_CASE_SHARES Best Case,
    the rest Pipeline; dated later: Commit-worthy deals are Best Case, the rest Pipeline.
    Closed stages keep the stage map's category."""
    names = category_names(sm)
    S = sm.n_open
    back = np.clip(S - 1 - stage, 0, None)  # 0: last open stage
    commit_share = np.array(COMMIT_SHARES + (0.0,) * S)[back]
    best_share = np.array(BEST_CASE_SHARES + (0.0,) * S)[back]
    in_quarter = _quarter_start(close_day) <= _quarter_start(day)
    cat = np.where(
        confidence < commit_share,
        np.where(in_quarter, 2, 1),
        np.where((confidence < commit_share + best_share) & in_quarter, 1, 0),
    )
    closed_idx = np.array([names.index(c) for c in sm.forecast_category[S:]])
    return np.where(stage >= S, closed_idx[np.clip(stage - S, 0, len(closed_idx) - 1)], cat)


def quarter_reviews(
    rng: np.random.Generator,
    sm: StageMap,
    first_day: int,
    as_of: int,
    ev: dict[str, np.ndarray],
    close_day: np.ndarray,
    confidence: np.ndarray,
) -> dict[str, np.ndarray]:
    """Review rows (one column per quarter start in (first_day, as_of]): on a quarter's first
    day, before anything else that day, each deal still open gets a row when its category
    changes (same stage, amount and close date as before the review). `ev` holds the history
    events (n, C): day, ts, stage, cd, amt, cat, valid."""
    n = ev["day"].shape[0]
    rows = np.arange(n)
    months = np.arange(
        np.datetime64(int(first_day), "D").astype("datetime64[M]"),
        np.datetime64(int(as_of), "D").astype("datetime64[M]") + 1,
    )
    starts = months.astype("datetime64[D]").astype(np.int64)
    starts = starts[(starts > first_day) & (starts <= as_of) & (starts == _quarter_start(starts))]
    out = {k: [] for k in ("day", "ts", "stage", "cd", "amt", "cat", "valid")}
    for q in starts:
        before = ev["valid"] & (ev["day"] < q)
        last = before.shape[1] - 1 - np.argmax(before[:, ::-1], axis=1)
        stage, cd, amt = ev["stage"][rows, last], ev["cd"][rows, last], ev["amt"][rows, last]
        cat = forecast_category(sm, stage, cd, np.full(n, q), confidence)
        write = before.any(axis=1) & (close_day > q) & (stage < sm.n_open) & (cat != ev["cat"][rows, last])
        out["day"].append(np.full(n, q))
        out["ts"].append(q * DAY + 5 * HOUR + rng.integers(0, HOUR, n))  # the kick-off call, early
        out["stage"].append(stage)
        out["cd"].append(cd)
        out["amt"].append(amt)
        out["cat"].append(cat)
        out["valid"].append(write)
    if not starts.size:
        return {k: np.zeros((n, 0), np.int64 if k != "valid" else bool) for k in out}
    return {k: np.stack(v, axis=1) for k, v in out.items()}
