"""Owners as reps (`user`), companies as `account`, the targets seed as `forecasting_quota`.

- user <- owner: name = first and last name (else the email); department = the owner's
  primary team (owner_team + team); manager from `hubspot_managers.csv`; is_active from
  `is_active`, else `archived`, else whether the owner has an active user
  (`active_user_id`); a deleted owner stays (deals keep their owner) as inactive.
- account <- company, deleted companies left out (the contract's account has no delete flag).
- forecasting_quota <- `targets.csv`: id `<owner id>:<YYYY-MM>`.
"""

from __future__ import annotations

from revops.sources.conform import SourceError, SourceTable
from revops.sources.hubspot.plan import Context, Plan
from revops.sources.hubspot.schema import (
    deleted_sql,
    first_column,
    id_sql,
    mapped_column,
    not_deleted_sql,
    reject_explicit,
    timestamp_sql,
)
from revops.sources.hubspot.seeds import read_managers, read_targets
from revops.sql import quote_identifier

MANAGERS_TABLE = "_hubspot_managers"
TARGETS_TABLE = "_hubspot_targets"
TEMP_TABLES = (MANAGERS_TABLE, TARGETS_TABLE)

ACCOUNT_DEFAULTS: dict[str, tuple[str, ...]] = {
    "name": ("property_name",),
    "industry": ("property_industry",),
    "number_of_employees": ("property_numberofemployees",),
    "annual_revenue": ("property_annualrevenue",),
    "billing_country": ("property_country",),
    "owner_id": ("property_hubspot_owner_id",),
    "created_date": ("property_createdate",),
}
USER_DEFAULTS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "title": (),  # HubSpot owners have no title: only a column the mapping names
    "created_date": ("created_at",),
}


def owner_table(ctx: Context) -> SourceTable:
    name = ctx.object("user").source_name or "owner"
    table = ctx.hs.table(name)
    if table is None or "owner_id" not in table.columns:
        raise SourceError(
            f"The HubSpot schema {ctx.hs.catalog}.{ctx.hs.schema} has no table {name} with an owner_id "
            f"column: owners are required (they are the reps)."
        )
    return table


def _team_sql(ctx: Context) -> tuple[str, str] | None:
    link, team = ctx.hs.table("owner_team"), ctx.hs.table("team")
    if (
        link is None
        or team is None
        or not {"owner_id", "team_id"} <= set(link.columns)
        or not {"id", "name"} <= set(team.columns)
    ):
        return None
    primary = (
        "case when coalesce(try_cast(ot.is_team_primary as boolean), false) then 0 else 1 end, "
        if "is_team_primary" in link.columns
        else ""
    )
    sql = f"""(
        select owner_id, team_name from (
            select {id_sql(link, "ot", "owner_id")} as owner_id, cast(t.name as varchar) as team_name,
                row_number() over (partition by ot.owner_id order by {primary}t.id) as team_rank
            from {link.sql} as ot
            join {team.sql} as t on {id_sql(team, "t", "id")} = {id_sql(link, "ot", "team_id")}
            where {not_deleted_sql(link, "ot")} and {not_deleted_sql(team, "t")}
        ) where team_rank = 1
    )"""
    return sql, f"{team.label}.name (the owner's primary team in {link.label})"


def user_plan(ctx: Context, owner: SourceTable) -> Plan:
    mapping = ctx.object("user")
    reject_explicit(
        mapping,
        ("id", "name", "manager_id", "department", "is_active"),
        "they come from the owner, its teams and hubspot_managers.csv",
    )
    owner_id = id_sql(owner, "o", "owner_id")
    joins = []
    team = _team_sql(ctx)
    if team:
        joins.append(f"left join {team[0]} as team on team.owner_id = {owner_id}")
    managers_path, managers = read_managers(ctx.seeds_dir)
    if managers:
        known = {
            row[0]
            for row in ctx.hs.con.execute(f"select distinct {owner_id} from {owner.sql} as o").fetchall()
        }
        unknown = sorted(
            {m for m in managers.values() if m and m not in known} | {o for o in managers if o not in known}
        )
        if unknown:
            raise SourceError(
                f"{managers_path} names owners that are not in {owner.label}: {', '.join(unknown[:5])}"
                f"{' and more' if len(unknown) > 5 else ''}"
            )
        ctx.hs.con.execute(
            f"create or replace temp table {MANAGERS_TABLE} (owner_id varchar, manager_id varchar)"
        )
        ctx.hs.con.executemany(f"insert into {MANAGERS_TABLE} values (?, ?)", list(managers.items()))
        joins.append(f"left join temp.{MANAGERS_TABLE} as manager on manager.owner_id = {owner_id}")
    plan = Plan(label=owner.label, from_clause=f"{owner.sql} as o " + " ".join(joins), order_by='src."id"')
    plan.add("id", owner_id, f"{owner.label}.owner_id")
    names = [c for c in ("first_name", "last_name") if c in owner.columns]
    name_parts = ", ".join(f"nullif(trim(cast(o.{c} as varchar)), '')" for c in names)
    name_sql = f"nullif(concat_ws(' ', {name_parts}), '')" if names else None
    if "email" in owner.columns:
        name_sql = (
            f"coalesce({name_sql}, cast(o.email as varchar))" if name_sql else "cast(o.email as varchar)"
        )
    plan.add(
        "name",
        name_sql,
        f"{owner.label}.{', '.join([*names, 'email'] if 'email' in owner.columns else names)}",
    )
    for column, defaults in USER_DEFAULTS.items():
        source = mapped_column(owner, mapping, column, defaults)
        if source:
            sql = (
                timestamp_sql(owner, "o", source)
                if column == "created_date"
                else f"o.{quote_identifier(source)}"
            )
            plan.add(column, sql, f"{owner.label}.{source}")
    plan.add(
        "manager_id",
        "manager.manager_id" if managers else None,
        f"{managers_path.parent.name}/{managers_path.name}",
    )
    plan.add("department", "team.team_name" if team else None, team[1] if team else None)
    active = first_column(owner, ("is_active", "archived", "active_user_id"))
    if active:
        sql = {
            "is_active": "coalesce(try_cast(o.is_active as boolean), true)",
            "archived": "not coalesce(try_cast(o.archived as boolean), false)",
            "active_user_id": "o.active_user_id is not null",
        }[active]
        deleted = deleted_sql(owner, "o")
        plan.add("is_active", f"({sql}) and not {deleted[0]}" if deleted else sql, f"{owner.label}.{active}")
    return plan


def account_plan(ctx: Context) -> Plan | None:
    mapping = ctx.object("account")
    company = ctx.hs.table(mapping.source_name) if mapping.source_name else None
    company_id = first_column(company, ("id", "company_id"))
    if company is None or company_id is None:
        return None
    reject_explicit(mapping, ("id",), "the account id is the company id")
    plan = Plan(
        label=company.label,
        from_clause=f"{company.sql} as c where {not_deleted_sql(company, 'c')}",
        order_by='src."id"',
    )
    plan.add("id", id_sql(company, "c", company_id), f"{company.label}.{company_id}")
    for column, defaults in ACCOUNT_DEFAULTS.items():
        source = mapped_column(company, mapping, column, defaults)
        if source:
            sql = (
                id_sql(company, "c", source)
                if column == "owner_id"
                else timestamp_sql(company, "c", source)
                if column == "created_date"
                else f"c.{quote_identifier(source)}"
            )
            plan.add(column, sql, f"{company.label}.{source}")
    return plan


def quota_plan(ctx: Context) -> Plan | None:
    """Targets from the seed the mapping names (`from: targets` = seeds/targets.csv); None
    when the mapping says `from: null` or the seed has no rows (quota not tracked)."""
    stem = ctx.object("forecasting_quota").source_name
    if stem is None:
        return None
    path, targets = read_targets(ctx.seeds_dir, f"{stem}.csv")
    if not targets:
        return None
    con = ctx.hs.con
    con.execute(
        f"create or replace temp table {TARGETS_TABLE} (line bigint, owner_id varchar, month_start date, amount double)"
    )
    con.executemany(
        f"insert into {TARGETS_TABLE} values (?, ?, ?, ?)",
        [(t.line, t.owner_id, t.month_start, t.amount) for t in targets],
    )
    plan = Plan(label=path.name, from_clause=f"temp.{TARGETS_TABLE} as t", order_by='src."id"')
    plan.add(
        "id", "t.owner_id || ':' || strftime(t.month_start, '%Y-%m')", f"{path.name}: owner_id, month_start"
    )
    plan.add("quota_owner_id", "t.owner_id", f"{path.name}: owner_id")
    plan.add("start_date", "t.month_start", f"{path.name}: month_start")
    plan.add("quota_amount", "t.amount", f"{path.name}: amount")
    return plan
