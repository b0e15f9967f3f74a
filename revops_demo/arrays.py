"""Array helpers: day numbers, months, weekends, rounding, and pyarrow columns of ids, dates
and timestamps."""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revops_demo.vocab import EPOCH, HOUR, ID_DIGITS


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _month_no(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of day numbers."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_end(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return ((months + 1).astype("datetime64[D]") - 1).astype(np.int64)


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days + 3) % 7  # Monday = 0 (1970-01-01 was a Thursday)


def _shift_off_weekend(
    days: np.ndarray, rng: np.random.Generator, share: float, latest: int | None = None
) -> np.ndarray:
    """Move `share` of weekend days to the Monday after (or the Friday before when that
    would pass `latest`)."""
    wd = _weekday(days)
    move = rng.random(days.shape) < share
    sat, sun = move & (wd == 5), move & (wd == 6)
    out = days + 2 * sat + sun
    if latest is not None:
        over = out > latest
        out = np.where(over & sat, days - 1, np.where(over & sun, days - 2, out))
    return out


def _growth_days(
    rng: np.random.Generator, size: int, first: int, last: int, growth: float = 0.6
) -> np.ndarray:
    """Days in [first, last], density rising linearly by `growth` over the period."""
    u = rng.random(size)
    x = (np.sqrt(1 + u * growth * (2 + growth)) - 1) / growth
    return np.minimum(first + (x * (last - first + 1)).astype(np.int64), last)


def _time_of_day(rng: np.random.Generator, days: np.ndarray, as_of: int) -> np.ndarray:
    """Seconds into the day: business hours (13:00-23:00 UTC, the Americas' working day);
    on the as-of day itself only the morning (06:00-12:00), so nothing lies in its future."""
    tod = rng.integers(13 * HOUR, 23 * HOUR, days.shape)
    morning = rng.integers(6 * HOUR, 12 * HOUR, days.shape)
    return np.where(days == as_of, morning, tod)


def _round_to(values: np.ndarray, step: float) -> np.ndarray:
    return np.maximum(np.round(values / step) * step, step)


def _by_stage(rng: np.random.Generator, stage_frac: np.ndarray, size: int, spread: int) -> np.ndarray:
    """Index into a vocabulary ordered from early- to late-stage: a window of `spread`
    entries that slides along the list as the deal advances (stage_frac 0..1)."""
    spread = min(spread, size)
    start = np.rint(stage_frac * (size - spread)).astype(np.int64)
    return start + rng.integers(0, spread, len(stage_frac))


def _ids(prefix: str, numbers: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, mask=mask), pa.string()), ID_DIGITS, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _take(vocab: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return vocab.take(pa.array(idx, mask=mask))


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def _timestamps(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(seconds.astype(np.int64), type=pa.timestamp("s"), mask=mask)


def api_name(column: str) -> str:
    """Salesforce API name of a snake_case field: `stage_name` -> `StageName`,
    custom `next_step_date_c` -> `Next_Step_Date__c`."""
    if column.endswith("_c"):
        return "_".join(p.capitalize() for p in column[:-2].split("_")) + "__c"
    return "".join(p.capitalize() for p in column.split("_"))


def _quarter_start(days: np.ndarray) -> np.ndarray:
    """First day of each day's calendar quarter."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return (months - months % 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _quarter_end(days: np.ndarray) -> np.ndarray:
    """Last day of each day's calendar quarter."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return ((months - months % 3 + 3).astype("datetime64[M]").astype("datetime64[D]") - 1).astype(np.int64)
