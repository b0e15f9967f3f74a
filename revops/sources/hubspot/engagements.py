"""Engagements as interactions: calls and emails as `task`, meetings as `event`.

A logged HubSpot call or email is a completed task (task_subtype / type Call or Email,
status Completed, completed_date_time = the engagement's timestamp); a meeting is an
event starting at the meeting's start time (else its timestamp). what_id is the deal the
engagement is associated with (engagement_deal); an engagement on several deals is one
row per deal, its id suffixed `:<deal id>`; one on no deal of the deal table has no what_id. Values
come from the type's own table (HubSpot's v3 properties) and, where that lacks them, from
`engagement` (the v1 columns). HubSpot tasks and notes are not interactions: not read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from revops.sources.conform import SourceError, SourceTable
from revops.sources.hubspot.plan import Context, Plan, coalesce
from revops.sources.hubspot.schema import deleted_sql, id_sql, not_deleted_sql, timestamp_sql
from revops.sql import quote_identifier

KINDS: dict[
    str, list[tuple[str, str, str, tuple[str, ...]]]
] = {  # contract object -> (HubSpot type, its table, label, subject columns)
    "task": [
        ("CALL", "engagement_call", "Call", ("property_hs_call_title",)),
        ("EMAIL", "engagement_email", "Email", ("property_hs_email_subject",)),
    ],
    "event": [
        ("MEETING", "engagement_meeting", "Meeting", ("property_hs_meeting_title", "title")),
    ],
}
START_COLUMNS = ("property_hs_meeting_start_time", "start_time")
END_COLUMNS = ("property_hs_meeting_end_time", "end_time")


def _columns(
    table: SourceTable | None,
    alias: str,
    names: Sequence[str],
    render: Callable[[SourceTable, str, str], str],
) -> list[str]:
    if table is None:
        return []
    return [render(table, alias, n) for n in names if n in table.columns]


def _kind_sql(
    ctx: Context, hs_type: str, table_name: str, label: str, subjects: Sequence[str]
) -> tuple[str, list[str]] | None:
    """One engagement type's rows with engagement_id, occurred_at, started_at, ended_at,
    created_at, owner_id, subject, is_deleted, kind (or None when HubSpot has none of it)."""
    sub, engagement = ctx.hs.table(table_name), ctx.hs.table("engagement")
    if engagement is not None and "id" not in engagement.columns:
        engagement = None
    if sub is not None and "engagement_id" not in sub.columns:
        raise SourceError(f"{sub.label} has no column engagement_id")
    if sub is None and (engagement is None or "type" not in engagement.columns):
        return None
    _x, _e = ("x", "e") if sub is not None else (None, "e")
    occurred = _columns(sub, "x", ("property_hs_timestamp", "timestamp"), timestamp_sql) + _columns(
        engagement, "e", ("timestamp",), timestamp_sql
    )
    started = _columns(sub, "x", START_COLUMNS, timestamp_sql)
    ended = _columns(sub, "x", END_COLUMNS, timestamp_sql)
    created = _columns(sub, "x", ("property_hs_createdate",), timestamp_sql) + _columns(
        engagement, "e", ("created_at",), timestamp_sql
    )
    owners = _columns(sub, "x", ("property_hubspot_owner_id",), id_sql) + _columns(
        engagement, "e", ("owner_id",), id_sql
    )
    subject = _columns(sub, "x", subjects, lambda t, a, c: f"cast({a}.{quote_identifier(c)} as varchar)")
    deleted = [
        d[0]
        for d in (
            deleted_sql(sub, "x") if sub else None,
            deleted_sql(engagement, "e") if engagement else None,
        )
        if d
    ]
    if sub is not None:
        source = f"{sub.sql} as x"
        if engagement is not None:
            source += f" left join {engagement.sql} as e on {id_sql(engagement, 'e', 'id')} = {id_sql(sub, 'x', 'engagement_id')}"
        engagement_id, where = id_sql(sub, "x", "engagement_id"), "true"
    else:
        assert engagement is not None  # neither table: returned None above
        source, engagement_id = f"{engagement.sql} as e", id_sql(engagement, "e", "id")
        where = f"upper(cast(e.type as varchar)) = '{hs_type}'"
    null_ts, null_text = "cast(null as timestamp)", "cast(null as varchar)"
    sql = f"""
        select {engagement_id} as engagement_id,
            {coalesce(occurred) or null_ts} as occurred_at,
            {coalesce(started + occurred) or null_ts} as started_at,
            {coalesce(ended) or null_ts} as ended_at,
            {coalesce(created) or null_ts} as created_at,
            {coalesce(owners) or null_text} as owner_id,
            {coalesce(subject) or null_text} as subject,
            {" or ".join(deleted) or "false"} as is_deleted,
            '{label}' as kind
        from {source} where {where}"""
    tracked = [
        c
        for c, found in (
            ("occurred", occurred),
            ("started", started + occurred),
            ("ended", ended),
            ("created", created),
            ("owner", owners),
            ("subject", subject),
            ("deleted", deleted),
        )
        if found
    ]
    return sql, tracked


def _deal_links_sql(ctx: Context, deal_ids: str) -> str | None:
    link = ctx.hs.table("engagement_deal")
    if link is None or not {"engagement_id", "deal_id"} <= set(link.columns):
        return None
    engagement_id, deal_id = id_sql(link, "ed", "engagement_id"), id_sql(link, "ed", "deal_id")
    return f"""(
        select engagement_id, deal_id, count(*) over (partition by engagement_id) as deals
        from (
            select distinct {engagement_id} as engagement_id, {deal_id} as deal_id
            from {link.sql} as ed
            where {not_deleted_sql(link, "ed")} and {deal_id} in {deal_ids}
        )
    )"""


def engagement_plan(ctx: Context, object_name: str, deal_ids: str) -> Plan | None:
    """The task or event plan; None when HubSpot has none of its engagement types."""
    mapping = ctx.object(object_name)
    if mapping.source_name is None:
        return None
    if mapping.columns:
        raise SourceError(
            f"the mapping names columns of {object_name} ({', '.join(mapping.columns)}), but for HubSpot "
            f"they come from the engagement tables; remove them, or set `from: null` to leave {object_name} out"
        )
    parts = [p for p in (_kind_sql(ctx, *kind) for kind in KINDS[object_name]) if p]
    if not parts:
        return None
    tables = [ctx.hs.table(k[1]) or ctx.hs.table("engagement") for k in KINDS[object_name]]
    label = " + ".join(dict.fromkeys(t.label for t in tables if t is not None))
    tracked = set.intersection(*(set(p[1]) for p in parts))  # tracked only when every type has it
    links = _deal_links_sql(ctx, deal_ids)
    from_clause = f"({' union all '.join(p[0] for p in parts)}) as g"
    if links:
        from_clause += f" left join {links} as link on link.engagement_id = g.engagement_id"
    plan = Plan(label=label, from_clause=from_clause, order_by='src."id"')
    plan.add(
        "id",
        "case when link.deals > 1 then g.engagement_id || ':' || link.deal_id else g.engagement_id end"
        if links
        else "g.engagement_id",
        f"{label}.engagement_id",
    )
    if links:
        engagement_deal = ctx.hs.table("engagement_deal")
        assert engagement_deal is not None  # links come from it
        plan.add("what_id", "link.deal_id", f"{engagement_deal.label}.deal_id")
    plan.add("owner_id", "g.owner_id" if "owner" in tracked else None, f"{label} (hubspot owner)")
    plan.add("subject", "g.subject" if "subject" in tracked else None, f"{label} (title / subject)")
    plan.add("type", "g.kind", f"{label} (engagement type)")
    plan.add("created_date", "g.created_at" if "created" in tracked else None, f"{label} (created)")
    plan.add("is_deleted", "g.is_deleted" if "deleted" in tracked else None, f"{label}._fivetran_deleted")
    if object_name == "task":
        plan.add("task_subtype", "g.kind", f"{label} (engagement type)")
        plan.add("status", "'Completed'", f"{label} (a logged call or email is completed)")
        plan.add("is_closed", "true", f"{label} (a logged call or email is completed)")
        if "occurred" in tracked:
            plan.add("activity_date", "cast(g.occurred_at as date)", f"{label} (timestamp)")
            plan.add("completed_date_time", "g.occurred_at", f"{label} (timestamp)")
    else:
        plan.add("start_date_time", "g.started_at" if "started" in tracked else None, f"{label} (start time)")
        plan.add("end_date_time", "g.ended_at" if "ended" in tracked else None, f"{label} (end time)")
    return plan
