"""Pipeline Health's headline cards (with the change since a week ago) and health strip.

Every value is read from a mart, never recomputed here:
- the cards: open deals, open pipeline and next-step share from the metric layer (the saved
  query for the company, grouped by rep__team or rep for a team or a rep), pipeline_hygiene's
  when it cannot answer; a week ago from fct_deal_snapshots (open deals and amount on
  as_of_date − 7) and pipeline_hygiene_weekly (the next-step share of the latest week
  measured on or before that day). Risk levels are not kept per day: "unknown".
- the strip: revops_health (the six health metrics for the company; pipeline velocity,
  lead→opportunity conversion and revenue per customer for the company and each team).
  At team and rep level, the metrics revops_health keeps for the company only come from the
  marts that have them at that level (coverage: forecast's current quarter; next-step
  share: pipeline_hygiene; ICP share: rep_scorecards' current quarter, per rep); the rest
  say which level they are kept at.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import page_kit as kit
from dashboard import tracking
from dashboard.served import ServedWarehouse
from revops.metrics import MetricQueryError

WEEK = dt.timedelta(days=7)

# metric -> (label, how its value reads)
HEALTH_METRICS = {
    "pipeline_coverage": ("Pipeline coverage", "ratio"),
    "next_step_share": ("Deals with a next step", "share"),
    "win_rate_week_over_week_change": ("Win rate, week over week", "signed_share"),
    "forecast_variance": ("Forecast variance", "signed_share"),
    "time_in_stage_vs_baseline": ("Time in stage vs baseline", "ratio"),
    "icp_share_of_pipeline": ("ICP share of pipeline", "share"),
    "pipeline_velocity_amount_per_day": ("Pipeline velocity", "money_per_day"),
    "lead_to_opportunity_conversion_rate": ("Lead → opportunity", "share"),
    "revenue_per_customer_amount": ("Revenue per customer", "money"),
}
EFFICIENCY = (
    "pipeline_velocity_amount_per_day",
    "lead_to_opportunity_conversion_rate",
    "revenue_per_customer_amount",
)


HEADLINE_QUERY = "open_pipeline_headlines"
# card -> (the metric layer's metric, pipeline_hygiene's column it equals)
HEADLINE_METRICS = {
    "open_deal_count": "open_deals",
    "open_amount": "open_amount",
    "next_step_rate": "next_step_share",
}
# a team's or a rep's cards: the same metrics grouped by the rep's team / the rep (owner_id)
SCOPED_GROUP_BY = {"team": "rep__team", "owner": "rep"}


def company_headlines(db: ServedWarehouse) -> pd.DataFrame:
    """The company's headline numbers from the metric layer (MetricFlow's saved query
    `open_pipeline_headlines`, the one `mf query` answers for a BI tool): one row, or a row
    with `error` saying why the layer could not answer (then the cards read the mart)."""
    try:
        table = db.metrics(HEADLINE_QUERY)  # a past day's: the same query on that day's marts
    except (MetricQueryError, duckdb.Error) as error:
        return pd.DataFrame({"error": [str(error)]})
    if len(table.rows) != 1:
        return pd.DataFrame({"error": [f"{HEADLINE_QUERY} gave {len(table.rows)} rows, expected one"]})
    record = table.records()[0]
    return pd.DataFrame({column: [record.get(metric)] for column, metric in HEADLINE_METRICS.items()})


def scoped_headlines(db: ServedWarehouse, level: str) -> pd.DataFrame:
    """Each team's (level "team") or rep's ("owner") headline numbers from the metric layer: a
    `scope` column (the team, the owner_id) and the cards' columns, or a row with `error`."""
    dimension = SCOPED_GROUP_BY[level]
    try:
        table = db.metrics(metrics=list(HEADLINE_METRICS.values()), group_by=[dimension])
    except (MetricQueryError, duckdb.Error) as error:
        return pd.DataFrame({"error": [str(error)]})
    frame = pd.DataFrame(table.records(), columns=list(table.columns))
    return frame.rename(columns={dimension: "scope", **{m: c for c, m in HEADLINE_METRICS.items()}})


def fetch(db: ServedWarehouse) -> kit.Frames:
    return {
        "headlines": company_headlines(db),
        "team_headlines": scoped_headlines(db, "team"),
        "owner_headlines": scoped_headlines(db, "owner"),
        "week_ago": db.frame(
            """
            select snapshots.owner_id, count(*) as open_deal_count, sum(snapshots.amount) as open_amount
            from marts.fct_deal_snapshots as snapshots
            where snapshots.snapshot_date = (
                select max(as_of_date) - interval 7 day from marts.pipeline_hygiene
            )
            group by 1
            """
        ),
        "snapshot_days": db.frame(
            "select min(snapshot_date) as first_day, max(snapshot_date) as last_day from marts.fct_deal_snapshots"
        ),
        "quarter_coverage": db.frame(
            "select rollup_level, owner_id, team, coverage_ratio from marts.forecast "
            "where period_type = 'quarter' and period_offset = 'current'"
        ),
        "icp": db.frame(
            "select owner_id, icp_pipeline_share_rate from marts.rep_scorecards "
            "where quarter_start = (select max(quarter_start) from marts.rep_scorecards)"
        ),
    }


def value_text(metric: str, value: object) -> str:
    kind = HEALTH_METRICS.get(metric, ("", "share"))[1]
    if kind == "money_per_day":
        return fmt.MISSING if fmt.is_missing(value) else f"{fmt.money(value)}/day"
    return {"ratio": fmt.ratio, "share": fmt.share, "signed_share": fmt.signed_share, "money": fmt.money}[
        kind
    ](value)


def healthy_band(metric: str, low: object, high: object) -> str:
    def text(value: object) -> str:
        return value_text(metric, value)

    if not fmt.is_missing(low) and not fmt.is_missing(high):
        return f"healthy {text(low)} to {text(high)}"
    if not fmt.is_missing(low):
        return f"healthy at {text(low)} or more"
    if not fmt.is_missing(high):
        return f"healthy at {text(high)} or less"
    return ""


# --------------------------------------------------------------------------- week over week


def week_ago_day(as_of: Any) -> dt.date | None:
    day = fmt.as_date(as_of)
    return None if day is None else day - WEEK


def week_ago_counts(
    frames: kit.Frames, owners: set[str] | None, as_of: Any
) -> tuple[int | None, float | None, str]:
    """(open deals, open amount) on as_of − 7 for the owners (None: everyone), or Nones and why."""
    day, days = week_ago_day(as_of), frames["snapshot_days"]
    first = None if days.empty else fmt.as_date(days["first_day"].iloc[0])
    if day is None or first is None or day < first:
        return (
            None,
            None,
            f"unknown: the snapshots start {fmt.date(first)}" if first else "unknown: no snapshots",
        )
    rows = frames["week_ago"]
    if owners is not None:
        rows = rows[rows["owner_id"].isin(owners)]
    return int(rows["open_deal_count"].sum()), float(rows["open_amount"].sum()), ""


NO_CHANGE = "no change vs a week ago"


def delta_count(now: Any, then: int | None) -> str:
    if then is None or fmt.is_missing(now):
        return "unknown vs a week ago"
    change = int(now) - then
    return f"{change:+,} vs a week ago" if change else NO_CHANGE


def delta_money(now: Any, then: float | None) -> str:
    if then is None or fmt.is_missing(now):
        return "unknown vs a week ago"
    change = float(now) - then
    if abs(change) < 0.5:  # prints as $0
        return NO_CHANGE
    return ("+" if change >= 0 else "") + f"{fmt.money(change)} vs a week ago"


def arrow_of(delta: str) -> str:
    """An arrow only for a known change: none for "unknown" or "no change"."""
    return "off" if delta.startswith(("unknown", "no change")) else "auto"


def week_ago_next_step(weekly: pd.DataFrame, as_of: Any) -> tuple[float | None, str]:
    """The next-step share of the latest week measured on or before as_of − 7, and its day."""
    day = week_ago_day(as_of)
    if day is None or weekly.empty:
        return None, ""
    rows = weekly[[fmt.as_date(d) <= day for d in weekly["snapshot_date"]]].sort_values("snapshot_date")
    if rows.empty or fmt.is_missing(rows["next_step_rate"].iloc[-1]):
        return None, ""
    return float(rows["next_step_rate"].iloc[-1]), fmt.short_date(rows["snapshot_date"].iloc[-1])


def next_step_goal_text(goal: float | None) -> str:
    """revops_health's next-step goal (next_step_share_healthy_min), as the card's help says it."""
    return (
        "No next-step goal in revops_health."
        if goal is None
        else f"Goal: more than {fmt.share(goal)} of open deals."
    )


def cards(
    row: Any,
    high: pd.DataFrame,
    frames: kit.Frames,
    owners: set[str] | None,
    weekly: pd.DataFrame,
    tr: tracking.Tracking,
    as_of: Any,
    level: str = "company",
    scope: str | None = None,
) -> None:
    """Open deals, open pipeline, high risk and next-step share, each with its weekly change.
    The three the metric layer defines are its answers (`mf query`) for the company, the team
    (`scope`, level "team") or the rep (an owner_id, level "owner"); the mart's without it."""
    row = headline_row(row, frames, level, scope)
    deals_then, amount_then, why = week_ago_counts(frames, owners, as_of)
    cols = st.columns(4)
    cols[0].metric(
        "Open deals",
        fmt.count(row.open_deal_count),
        delta=(deals_delta := delta_count(row.open_deal_count, deals_then)),
        delta_color="off",
        delta_arrow=arrow_of(deals_delta),
        help=kit.md(why or f"A week ago: open on {fmt.date(week_ago_day(as_of))} (fct_deal_snapshots)"),
        border=True,
    )
    cols[1].metric(
        "Open pipeline",
        fmt.money(row.open_amount),
        delta=(amount_delta := delta_money(row.open_amount, amount_then)),
        delta_color="off",
        delta_arrow=arrow_of(amount_delta),
        border=True,
    )
    cols[2].metric(
        "High risk",
        fmt.count(len(high)),
        delta="unknown vs a week ago",
        delta_color="off",
        delta_arrow="off",
        help=kit.md(
            f"{fmt.money(high['amount'].sum())} of open pipeline. Risk levels are scored for today only "
            "(deal_risk), so last week's count is unknown."
        ),
        border=True,
    )
    rate_then, on = week_ago_next_step(weekly, as_of)
    now = row.next_step_rate
    if rate_then is None or fmt.is_missing(now):
        delta, arrow = "unknown vs a week ago", "off"
    else:
        delta, arrow = f"{fmt.signed_share(float(now) - rate_then, 1)} vs {on}", "auto"
    cols[3].metric(
        "Next step on",
        tr.text(now, lambda v: fmt.share(v, 1), "next_step"),
        delta=delta,
        delta_color="normal" if arrow == "auto" else "off",
        delta_arrow=arrow,
        help=next_step_goal_text(kit.band(frames["health"], "next_step_share")[0])
        + " Next steps are kept from the first day the project captured the deals, so earlier weeks are unknown.",
        border=True,
    )


def headline_row(row: Any, frames: kit.Frames, level: str = "company", scope: str | None = None) -> Any:
    """`row` (pipeline_hygiene's for the scope) with the metric layer's values for the scope, and
    a caption saying where the numbers come from (the mart when the layer cannot answer)."""
    if level == "company":
        headlines = frames.get("headlines")
        asked = f"mf query --saved-query {HEADLINE_QUERY}"
    else:
        headlines = frames.get(f"{level}_headlines")
        asked = (
            f"mf query --metrics {','.join(HEADLINE_METRICS.values())} --group-by {SCOPED_GROUP_BY[level]}"
        )
    if headlines is None or headlines.empty:
        return row
    if "error" in headlines.columns:
        st.caption(
            f"Metric layer unavailable ({kit.md(headlines['error'].iloc[0])}): the cards read pipeline_hygiene."
        )
        return row
    if level != "company":
        headlines = headlines[headlines["scope"] == scope]
        if headlines.empty:
            st.caption(f"The metric layer has no row for {kit.md(scope)}: the cards read pipeline_hygiene.")
            return row
    row = row.copy()
    for column in HEADLINE_METRICS:
        row[column] = headlines[column].iloc[0]
    st.caption(
        f"Open deals, open pipeline and next-step share: the metric layer (`{asked}`), the same numbers a "
        "BI tool gets."
    )
    return row


# --------------------------------------------------------------------------- the strip


def _row(metric: str, value: Any, status: str = "info", low: Any = None, high: Any = None, note: str = ""):
    return {"metric": metric, "value": value, "status": status, "low": low, "high": high, "note": note}


def strip_rows(
    health: pd.DataFrame,
    frames: kit.Frames,
    hygiene_row: Any,
    level: str,
    team: str | None,
    owner: str | None,
) -> list[dict]:
    """The strip's cells for the scope: value, status and band, or a note on where it is kept."""
    company = health[health["rollup_level"] == "company"].set_index("metric")
    teams = health[(health["rollup_level"] == "team") & (health["team"] == team)].set_index("metric")
    out = []
    for metric in HEALTH_METRICS:
        source = company if level == "company" else (teams if metric in EFFICIENCY else None)
        if source is not None:
            if metric not in source.index:
                out.append(_row(metric, None, "unknown", note="not in revops_health"))
                continue
            r = source.loc[metric]
            note = "" if level != "owner" else f"team {team} (no rep rows)"
            if r["status"] == "unknown" and fmt.is_missing(r["value"]):
                note = tracking.not_tracked(r.get("unknown_reason"))
            out.append(_row(metric, r["value"], r["status"], r["healthy_min"], r["healthy_max"], note))
            continue
        band = company.loc[metric] if metric in company.index else None
        low = None if band is None else band["healthy_min"]
        high = None if band is None else band["healthy_max"]
        value = None
        if metric == "pipeline_coverage":
            cov = frames["quarter_coverage"]
            cov = cov[
                (cov["rollup_level"] == level)
                & (
                    (cov["team"] if level == "team" else cov["owner_id"])
                    == (team if level == "team" else owner)
                )
            ]
            value = None if cov.empty else cov["coverage_ratio"].iloc[0]
            note = "this quarter"
        elif metric == "next_step_share":
            value, note = hygiene_row.next_step_rate, "today"
        elif metric == "icp_share_of_pipeline" and level == "owner":
            icp = frames["icp"]
            icp = icp[icp["owner_id"] == owner]
            value = None if icp.empty else icp["icp_pipeline_share_rate"].iloc[0]
            note = "this quarter"
        else:
            out.append(_row(metric, None, "company", note="company-wide only"))
            continue
        status = "unknown" if fmt.is_missing(value) else "scoped"
        out.append(_row(metric, value, status, low, high, note))
    return out


def render_strip(rows: list[dict], whose: str) -> None:
    st.markdown(f"**Revenue-engine health ({kit.md(whose)})**")
    for chunk in (rows[:5], rows[5:]):
        cells = st.columns(5)
        for cell, r in zip(cells, chunk):
            label = HEALTH_METRICS[r["metric"]][0]
            band = kit.md(healthy_band(r["metric"], r["low"], r["high"]))
            note = kit.md(r["note"])
            if r["status"] == "company":
                cell.markdown(f"**{label}**  \n:gray[{note}]")
                continue
            if fmt.is_missing(r["value"]):
                cell.markdown(f"**{label}**  \n:gray[**Unknown**]" + (f": {note}" if note else ""))
                continue
            color = kit.STATUS_COLORS.get(r["status"], "gray") if r["status"] != "scoped" else "blue"
            lines = [f"**{label}**", f":{color}[**{kit.md(value_text(r['metric'], r['value']))}**]"]
            lines += [f":gray[{text}]" for text in (band, note) if text]
            cell.markdown("  \n".join(lines))
