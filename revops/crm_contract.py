"""The input contract: the eight Salesforce objects the warehouse takes in, and the two
optional growth inputs (marketing spend and subscriptions) that CAC and NRR need.

One place names every object's required columns and the type each is loaded
as, so the landing loader, the demo data generator and the quality gate agree.
Every object but user and opportunity is optional (`revops.sources.coverage`): an
absent one is an empty table, recorded as not tracked in `source_coverage`.
Column names are Salesforce field names in snake_case (Fivetran's naming);
types are DuckDB logical types, declared rather than guessed from the file.
"""

from __future__ import annotations

from dataclasses import dataclass

VARCHAR = "VARCHAR"
BOOLEAN = "BOOLEAN"
INTEGER = "BIGINT"
DOUBLE = "DOUBLE"
DATE = "DATE"
TIMESTAMP = "TIMESTAMP"  # stored in UTC, without a time zone


@dataclass(frozen=True)
class CrmObject:
    """One Salesforce object: its landing file stem, raw table and typed columns."""

    name: str
    columns: dict[str, str]
    description: str

    @property
    def required_columns(self) -> list[str]:
        return list(self.columns)


CRM_OBJECTS: dict[str, CrmObject] = {
    obj.name: obj
    for obj in [
        CrmObject(
            "user",
            {
                "id": VARCHAR,
                "name": VARCHAR,
                "email": VARCHAR,
                "manager_id": VARCHAR,
                "department": VARCHAR,
                "title": VARCHAR,
                "is_active": BOOLEAN,
                "created_date": TIMESTAMP,
            },
            "Sales reps and managers; department is the team.",
        ),
        CrmObject(
            "account",
            {
                "id": VARCHAR,
                "name": VARCHAR,
                "industry": VARCHAR,
                "number_of_employees": INTEGER,
                "annual_revenue": DOUBLE,
                "billing_country": VARCHAR,
                "owner_id": VARCHAR,
                "created_date": TIMESTAMP,
            },
            "Customer and prospect companies.",
        ),
        CrmObject(
            "opportunity",
            {
                "id": VARCHAR,
                "account_id": VARCHAR,
                "owner_id": VARCHAR,
                "name": VARCHAR,
                "stage_name": VARCHAR,
                "amount": DOUBLE,
                "close_date": DATE,
                "created_date": TIMESTAMP,
                "last_modified_date": TIMESTAMP,
                "is_closed": BOOLEAN,
                "is_won": BOOLEAN,
                "forecast_category_name": VARCHAR,
                "probability": DOUBLE,
                "lead_source": VARCHAR,
                "type": VARCHAR,
                "next_step": VARCHAR,
                "next_step_date_c": DATE,
                "trigger_event_c": VARCHAR,
                "technical_fit_c": VARCHAR,
                "is_deleted": BOOLEAN,
            },
            "Current state of each deal.",
        ),
        CrmObject(
            "opportunity_history",
            {
                "id": VARCHAR,
                "opportunity_id": VARCHAR,
                "stage_name": VARCHAR,
                "amount": DOUBLE,
                "close_date": DATE,
                "probability": DOUBLE,
                "forecast_category": VARCHAR,
                "created_date": TIMESTAMP,
                "is_deleted": BOOLEAN,
            },
            "A row each time a deal's stage, amount or close date changed.",
        ),
        CrmObject(
            "task",
            {
                "id": VARCHAR,
                "what_id": VARCHAR,
                "who_id": VARCHAR,
                "owner_id": VARCHAR,
                "subject": VARCHAR,
                "task_subtype": VARCHAR,
                "type": VARCHAR,
                "status": VARCHAR,
                "activity_date": DATE,
                "created_date": TIMESTAMP,
                "completed_date_time": TIMESTAMP,
                "is_closed": BOOLEAN,
                "is_deleted": BOOLEAN,
            },
            "Calls and emails; what_id is the opportunity or account.",
        ),
        CrmObject(
            "event",
            {
                "id": VARCHAR,
                "what_id": VARCHAR,
                "owner_id": VARCHAR,
                "subject": VARCHAR,
                "type": VARCHAR,
                "start_date_time": TIMESTAMP,
                "end_date_time": TIMESTAMP,
                "created_date": TIMESTAMP,
                "is_deleted": BOOLEAN,
            },
            "Meetings.",
        ),
        CrmObject(
            "lead",
            {
                "id": VARCHAR,
                "owner_id": VARCHAR,
                "lead_source": VARCHAR,
                "status": VARCHAR,
                "company": VARCHAR,
                "industry": VARCHAR,
                "number_of_employees": INTEGER,
                "created_date": TIMESTAMP,
                "is_converted": BOOLEAN,
                "converted_date": DATE,
                "converted_opportunity_id": VARCHAR,
                "is_deleted": BOOLEAN,
            },
            "Inbound and outbound leads, some converted into opportunities.",
        ),
        CrmObject(
            "forecasting_quota",
            {
                "id": VARCHAR,
                "quota_owner_id": VARCHAR,
                "start_date": DATE,
                "quota_amount": DOUBLE,
            },
            "Monthly target per rep (start_date is the first day of the month).",
        ),
        CrmObject(
            "marketing_spend",
            {
                "month": DATE,
                "channel": VARCHAR,
                "amount": DOUBLE,
            },
            "Marketing spend per month and channel (month is the first day of the month; channel "
            "uses the opportunity's lead_source values). Optional: without it CAC is unknown.",
        ),
        CrmObject(
            "subscription",
            {
                "id": VARCHAR,
                "account_id": VARCHAR,
                "start_date": DATE,
                "end_date": DATE,
                "mrr_amount": DOUBLE,
            },
            "Recurring revenue per account: mrr_amount per month from start_date to end_date "
            "(NULL: still active). Optional: without it NRR comes from Expansion and Renewal deals.",
        ),
    ]
}

# Optional inputs no CRM connector has (DESIGN.md "Optional inputs for the rest of the six growth
# metrics"): the landing folder may carry them; Fivetran's Salesforce and HubSpot schemas do not.
GROWTH_OBJECTS: tuple[str, ...] = ("marketing_spend", "subscription")
