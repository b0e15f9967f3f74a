"""Users: the VP, one manager per team, active and former reps with their traits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from revops_demo.arrays import _ids, _timestamps
from revops_demo.context import _vocab
from revops_demo.vocab import (
    DAY,
    FIRST_NAMES,
    HOUR,
    KEY_PREFIXES,
    LAST_NAMES,
    NEVER,
    TEAMS,
    USER_EMAIL_DOMAIN,
)


def _build_users(ctx_seed: int, reps: int, first_day: int, as_of: int):
    rng = np.random.default_rng([ctx_seed, 1])
    n_teams = 2 if reps <= 6 else 3 if reps <= 14 else 4
    n_former = max(1, round(reps / 8))
    n_users = 1 + n_teams + reps + n_former
    team = np.full(n_users, -1)
    title: list[str] = ["VP of Sales"]
    department: list[str] = ["Sales"]
    manager = np.full(n_users, -1)  # user index of the manager, -1 none
    created = np.zeros(n_users, dtype=np.int64)
    created[0] = first_day - rng.integers(900, 1500)
    for t in range(n_teams):
        u = 1 + t
        team[u], manager[u] = t, 0
        title.append("Sales Manager")
        department.append(TEAMS[t].name)
        created[u] = first_day - rng.integers(400, 1200)
    rep_users = np.arange(1 + n_teams, n_users)
    active = np.ones(n_users, dtype=bool)
    departure = np.full(n_users, NEVER, dtype=np.int64)
    window = max(as_of - first_day, 1)
    for i, u in enumerate(rep_users):
        t = i % n_teams
        team[u], manager[u] = t, 1 + t
        title.append(TEAMS[t].titles[rng.integers(len(TEAMS[t].titles))])
        department.append(TEAMS[t].name)
        former = i >= reps
        created[u] = first_day - rng.integers(200 if former else 30, 800 if former else 1000)
        if former:
            active[u] = False
            departure[u] = min(first_day + int(window * rng.uniform(0.3, 0.7)), as_of - 30)
    skill = np.clip(rng.lognormal(0, 0.3, n_users), 0.55, 1.8)
    activity = np.clip(rng.lognormal(0, 0.35, n_users), 0.4, 1.8)
    activity[rep_users[rng.integers(min(reps, len(rep_users)))]] = 0.45  # one quiet rep
    diligence = rng.uniform(0.45, 0.95, n_users)
    optimism = rng.uniform(0.55, 0.95, n_users)
    active_reps = rep_users[active[rep_users]]
    replacement = np.arange(n_users)
    for u in rep_users[~active[rep_users]]:
        same_team = active_reps[team[active_reps] == team[u]]
        pool = same_team if len(same_team) else active_reps
        replacement[u] = pool[rng.integers(len(pool))]
    tenure = np.where(active, 1.0, np.clip((departure - first_day) / window, 0.05, 1.0))
    weights = np.array([TEAMS[team[u]].volume for u in rep_users]) * np.sqrt(activity[rep_users])
    weights = weights * tenure[rep_users]
    # names: unique first/last pairs
    pairs = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))
    names, emails = [], []
    for i in range(n_users):
        p = pairs[i % len(pairs)]
        first, last = FIRST_NAMES[p // len(LAST_NAMES)], LAST_NAMES[p % len(LAST_NAMES)]
        suffix = "" if i < len(pairs) else str(i // len(pairs) + 1)
        names.append(f"{first} {last}{suffix}")
        emails.append(f"{first.lower()}.{last.lower()}{suffix}@{USER_EMAIL_DOMAIN}")
    tod = rng.integers(14 * HOUR, 22 * HOUR, n_users)
    numbers = np.arange(1, n_users + 1)
    table = {
        "id": _ids(KEY_PREFIXES["user"], numbers),
        "name": _vocab(names),
        "email": _vocab(emails),
        "manager_id": _ids(KEY_PREFIXES["user"], manager + 1, mask=manager < 0),
        "department": _vocab(department),
        "title": _vocab(title),
        "is_active": pa.array(active),
        "created_date": _timestamps(created * DAY + tod),
    }
    users = {
        "n_users": n_users,
        "reps": rep_users,
        "rep_weights": weights / weights.sum(),
        "team": team,
        "skill": skill,
        "activity": activity,
        "diligence": diligence,
        "optimism": optimism,
        "departure": departure,
        "replacement": replacement,
        "active_reps": active_reps,
    }
    return table, users
