"""Alerts: a failed gate and the daily pipeline-hygiene digest, as Slack messages.

Every alert is a row of the served file's `main.alerts` table (BI shows them) and, when
REVOPS_ALERT_WEBHOOK_URL is set, a POST in Slack's incoming-webhook format
(`{"text": ..., "blocks": [...]}`). Without a URL the rows are still recorded. A webhook
that is down never fails a run: the delivery error is reported to the caller.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from revops.clock import utcnow

DIGEST_TOP_DEALS = 10  # deals listed per manager, largest amounts first
EXAMPLE_LIMIT = 5

# Slack's limits: 50 blocks per message, 3000 characters per section text, 150 per header
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 2900
MAX_HEADER_CHARS = 150
MAX_TEXT_CHARS = 39000  # Slack truncates a message's text at 40,000 characters


@dataclass
class Alert:
    """One row of `main.alerts`."""

    kind: str  # gate_failure, gate_warning, hygiene_digest
    severity: str  # blocking, warning, info
    title: str
    message: str
    run_id: str | None = None
    as_of_date: dt.date | None = None
    table_name: str | None = None
    check_name: str | None = None
    failing_row_count: int | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    recipient: str | None = None
    alert_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: dt.datetime = field(default_factory=utcnow)

    def as_row(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "created_at": self.created_at,
            "run_id": self.run_id,
            "as_of_date": self.as_of_date,
            "kind": self.kind,
            "severity": self.severity,
            "table_name": self.table_name,
            "check_name": self.check_name,
            "failing_row_count": self.failing_row_count,
            "examples": self.examples[:EXAMPLE_LIMIT],
            "recipient": self.recipient,
            "title": self.title,
            "message": self.message,
        }


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    detail: str  # "sent (HTTP 200)", "no webhook configured", or the error


# --------------------------------------------------------------------------- Slack format


def slack_escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(headline: str, sections: Sequence[str], context: str = "") -> dict[str, Any]:
    """An incoming-webhook message: `text` (the fallback, the whole alert) and blocks."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _truncate(headline, MAX_HEADER_CHARS)}}
    ]
    room = MAX_BLOCKS - 3  # the header, an overflow note and the context
    for section in sections[:room]:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _truncate(section, MAX_SECTION_CHARS)},
            }
        )
    if len(sections) > room:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"…and {len(sections) - room} more"}}
        )
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _truncate(context, 2000)}]})
    text = "\n".join([headline, *sections, context]).strip()
    return {"text": _truncate(text, MAX_TEXT_CHARS), "blocks": blocks}


def post_to_webhook(
    payload: Mapping[str, Any], url: str | None, *, timeout: float = 10, attempts: int = 3
) -> Delivery:
    """POST a Slack message to `url` (`Settings.alert_webhook_url`); retried with backoff,
    never raises. No url: nothing is sent."""
    if not url:
        return Delivery(False, "no webhook configured (REVOPS_ALERT_WEBHOOK_URL is not set)")
    body = json.dumps(payload, default=str).encode("utf-8")
    error = ""
    for attempt in range(attempts):
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Delivery(True, f"sent (HTTP {response.status})")
        except urllib.error.HTTPError as http_error:
            error = f"HTTP {http_error.code} from the webhook"
            if http_error.code < 500 and http_error.code != 429:
                break
        except (urllib.error.URLError, OSError) as network_error:
            error = f"the webhook could not be reached ({getattr(network_error, 'reason', network_error)})"
        if attempt + 1 < attempts:
            time.sleep(0.5 * 2**attempt)
    return Delivery(False, error)


# --------------------------------------------------------------------------- gate failures


@dataclass(frozen=True)
class GateFailure:
    """One failed check (or a failed step without a check) to alert about."""

    table_name: str | None
    check_name: str
    message: str
    failing_row_count: int | None = None
    examples: tuple[Mapping[str, Any], ...] = ()
    severity: str = "blocking"


def gate_failure_alerts(
    failures: Sequence[GateFailure], *, run_id: str | None, as_of_date: dt.date | None, stage: str
) -> tuple[list[Alert], dict[str, Any]]:
    """Alert rows (one per failure) and the Slack message that carries them all."""
    title = f"RevOps build stopped at {stage}: nothing was published"
    alerts = [
        Alert(
            kind="gate_failure",
            severity=f.severity,
            title=title,
            message=f.message,
            run_id=run_id,
            as_of_date=as_of_date,
            table_name=f.table_name,
            check_name=f.check_name,
            failing_row_count=f.failing_row_count,
            examples=[dict(e) for e in f.examples[:EXAMPLE_LIMIT]],
        )
        for f in failures
    ]
    sections = []
    for f in failures:
        what = f"*{slack_escape(f.table_name or 'build')}* · check `{slack_escape(f.check_name)}`"
        if f.failing_row_count is not None:
            what += f" · {f.failing_row_count:,} failing row{'s' if f.failing_row_count != 1 else ''}"
        detail = f.message
        prefix = f"{f.table_name}: check {f.check_name} failed"
        if f.table_name and detail.startswith(prefix):  # the headline already says it
            detail = detail.split(": ", 2)[-1] if detail.count(": ") >= 2 else detail
        sections.append(f"{what}\n{slack_escape(detail)}")
    context = (
        f"run {run_id or '?'} · as_of_date {as_of_date or '?'} · "
        "BI keeps reading the last good marts until a run passes every blocking check"
    )
    return alerts, slack_payload(f"🚨 {title}", sections, context)


# --------------------------------------------------------------------------- hygiene digest


DIGEST_SQL = """
select *
from marts.pipeline_hygiene_digest
order by manager_id, digest_rank
"""


def _money(amount: Any) -> str:
    if amount is None:
        return "no amount"
    return f"${amount:,.0f}"


def hygiene_digests(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str | None,
    as_of_date: dt.date,
    top_deals: int = DIGEST_TOP_DEALS,
) -> list[tuple[Alert, dict[str, Any]]]:
    """One digest per manager: their team's deals without a next step, with past close
    dates, stalled or inactive, largest amounts first. Deals of an owner without a
    manager go to that owner. Words the rows of `marts.pipeline_hygiene_digest` (the mart
    decides who gets which deal; this only writes the message)."""
    relation = con.execute(DIGEST_SQL)
    columns = [d[0] for d in relation.description]
    rows = [dict(zip(columns, r, strict=False)) for r in relation.fetchall()]
    by_manager: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_manager.setdefault(row["manager_id"], []).append(row)
    digests = []
    for manager_id, deals in by_manager.items():
        name = deals[0]["manager_name"] or manager_id
        counts = {
            "without a next step": sum(d["is_missing_next_step"] for d in deals),
            "past their close date": sum(d["is_close_date_past"] for d in deals),
            "stalled": sum(d["is_stalled"] for d in deals),
            "inactive": sum(d["is_inactive"] for d in deals),
        }
        total = sum(d["amount"] or 0 for d in deals)
        headline = f"Pipeline hygiene for {name}'s team, {as_of_date}: {len(deals)} deals need attention"
        summary = (
            f"{len(deals):,} open deals worth {_money(total)} need attention: "
            + ", ".join(f"{n:,} {label}" for label, n in counts.items())
            + "."
        )
        lines = []
        for d in deals[:top_deals]:
            problems = [
                label
                for label, flag in (
                    ("no next step", d["is_missing_next_step"]),
                    ("close date past", d["is_close_date_past"]),
                    ("stalled", d["is_stalled"]),
                    ("inactive", d["is_inactive"]),
                )
                if flag
            ]
            lines.append(
                f"• {slack_escape(d['opportunity_name'] or d['opportunity_id'])} — {_money(d['amount'])} — "
                f"{slack_escape(d['owner_name'] or d['owner_id'])} — close {d['close_date']} — {', '.join(problems)}"
            )
        sections = [
            slack_escape(summary),
            f"*Largest first (top {min(top_deals, len(deals))}):*\n" + "\n".join(lines),
        ]
        payload = slack_payload(
            f"🧹 {headline}", sections, f"run {run_id or '?'} · marts.pipeline_hygiene_digest"
        )
        alert = Alert(
            kind="hygiene_digest",
            severity="info",
            title=headline,
            message=summary + "\n" + "\n".join(lines),
            run_id=run_id,
            as_of_date=as_of_date,
            table_name="marts.pipeline_hygiene_digest",
            check_name="pipeline_hygiene_digest",
            failing_row_count=len(deals),
            examples=[
                {"value": d["opportunity_id"], "source": f"{d['owner_name']} {_money(d['amount'])}"}
                for d in deals[:EXAMPLE_LIMIT]
            ],
            recipient=manager_id,
        )
        digests.append((alert, payload))
    return digests


def warning_alerts(
    outcomes: Iterable[Mapping[str, Any]], *, run_id: str | None, as_of_date: dt.date | None
) -> list[Alert]:
    """Rows for the checks that failed as warnings in a run that published."""
    return [
        Alert(
            kind="gate_warning",
            severity="warning",
            title="Quality warning (published anyway)",
            message=o["message"],
            run_id=run_id,
            as_of_date=as_of_date,
            table_name=o.get("table"),
            check_name=o.get("check"),
            failing_row_count=o.get("failing_rows"),
            examples=list(o.get("examples") or []),
        )
        for o in outcomes
    ]
