"""lead: the converted leads behind new-business deals, the rest, and this morning's inbound."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from revops_demo.accounts import Accounts, _company_names, _firmographics
from revops_demo.arrays import (
    _dates,
    _growth_days,
    _ids,
    _shift_off_weekend,
    _take,
    _time_of_day,
    _timestamps,
)
from revops_demo.context import _Context
from revops_demo.deals import Deals
from revops_demo.history import DealState
from revops_demo.vocab import (
    DAY,
    DELETED_SHARE,
    HOUR,
    INBOUND_SOURCES,
    INBOUND_WEIGHTS,
    KEY_PREFIXES,
    LEAD_CLOSED,
    LEAD_CONVERTED,
    LEAD_OPEN,
    LEAD_WORKING,
    OUTBOUND_SOURCES,
    OUTBOUND_WEIGHTS,
)
from revops_demo.writer import _ObjectWriter


def write_leads(
    rng: np.random.Generator,
    ctx: _Context,
    block: int,
    d: Deals,
    s: DealState,
    accounts: Accounts,
    counters: dict[str, int],
    writer: _ObjectWriter,
) -> None:
    A, n, vocab = ctx.as_of, d.n, ctx.vocab
    dtype_, inbound, created_ts, src, orig = d.deal_type, d.inbound, s.created_ts, d.source, d.orig
    industry, employees, acc, cday, opp_ids = d.industry, d.employees, d.account, d.created_day, s.opp_ids
    acc_names = accounts.names
    conv = np.flatnonzero((dtype_ == 0) & (rng.random(n) < np.where(inbound, 0.8, 0.3)))
    c_n = len(conv)
    c_created = created_ts[conv] - rng.integers(1, 25, c_n) * DAY - rng.integers(0, 3 * HOUR, c_n)
    u_n = round(n * 0.85)
    u_day = _shift_off_weekend(_growth_days(rng, u_n, ctx.first_day, A), rng, 0.8, latest=A)
    f_n = 10 if block == 0 else 0  # inbound leads created today and the previous business day
    f_day = np.array([A] * 6 + [ctx.previous_business_day] * 4, np.int64)[:f_n]
    u_day = np.concatenate([u_day, f_day])
    u_created = u_day * DAY + _time_of_day(rng, u_day, A)
    age = A - u_day
    su = rng.random(u_n + f_n)
    u_status = np.where(
        age <= 3,
        np.where(su < 0.8, LEAD_OPEN, LEAD_WORKING),
        np.where(
            age <= 30,
            np.select([su < 0.25, su < 0.75], [LEAD_OPEN, LEAD_WORKING], LEAD_CLOSED),
            np.select([su < 0.05, su < 0.15], [LEAD_OPEN, LEAD_WORKING], LEAD_CLOSED),
        ),
    )
    u_status[u_n:] = LEAD_OPEN
    u_inbound = rng.random(u_n + f_n) < 0.55
    u_inbound[u_n:] = True
    u_src = np.where(
        u_inbound,
        rng.choice(len(INBOUND_SOURCES), u_n + f_n, p=INBOUND_WEIGHTS),
        len(INBOUND_SOURCES) + rng.choice(len(OUTBOUND_SOURCES), u_n + f_n, p=OUTBOUND_WEIGHTS),
    )
    u_owner = ctx.active_reps[rng.integers(len(ctx.active_reps), size=u_n + f_n)]
    u_industry, u_employees = _firmographics(rng, ctx, u_n + f_n, 0.2, 0.4, 0.45)
    u_company = _company_names(rng, u_n + f_n, vocab)
    lead_created = np.concatenate([c_created, u_created])
    order = np.argsort(lead_created, kind="stable")
    l_n = c_n + u_n + f_n
    is_conv = np.concatenate([np.ones(c_n, bool), np.zeros(u_n + f_n, bool)])
    l_deleted = rng.random(l_n) < DELETED_SHARE
    l_deleted[c_n + u_n :] = False
    lead_numbers = counters["lead"] + 1 + np.arange(l_n)
    counters["lead"] += l_n
    o = pa.array(order)
    writer.write(
        {
            "id": _ids(KEY_PREFIXES["lead"], lead_numbers),
            "owner_id": _ids(KEY_PREFIXES["user"], np.concatenate([orig[conv], u_owner])[order] + 1),
            "lead_source": _take(vocab["lead_source"], np.concatenate([src[conv], u_src])[order]),
            "status": _take(
                vocab["lead_status"], np.concatenate([np.full(c_n, LEAD_CONVERTED), u_status])[order]
            ),
            "company": pa.concat_arrays([acc_names.take(pa.array(acc[conv])), u_company]).take(o),
            "industry": _take(vocab["industry"], np.concatenate([industry[conv], u_industry])[order]),
            "number_of_employees": pa.array(np.concatenate([employees[conv], u_employees])[order]),
            "created_date": _timestamps(lead_created[order]),
            "is_converted": pa.array(is_conv[order]),
            "converted_date": _dates(
                np.concatenate([cday[conv], np.zeros(u_n + f_n, np.int64)])[order], mask=~is_conv[order]
            ),
            "converted_opportunity_id": pa.concat_arrays(
                [opp_ids.take(pa.array(conv)), pa.nulls(u_n + f_n, pa.string())]
            ).take(o),
            "is_deleted": pa.array(l_deleted[order]),
        }
    )
