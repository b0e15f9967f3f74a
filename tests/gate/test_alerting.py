"""Alert messages in Slack's incoming-webhook format, and deliveries that fail softly."""

from __future__ import annotations

import datetime as dt

from revops.alerting import GateFailure, gate_failure_alerts, post_to_webhook, slack_payload

FAILURE = GateFailure(
    table_name="raw.opportunity",
    check_name="amount_not_negative",
    message=(
        "raw.opportunity: check amount_not_negative failed (blocking) - 2 failing rows: amount is "
        "negative. Examples: -500.0 (opportunity.csv line 14), -1.0 (opportunity.csv line 20)"
    ),
    failing_row_count=2,
    examples=(
        {"value": -500.0, "source": "opportunity.csv line 14"},
        {"value": -1.0, "source": "opportunity.csv line 20"},
    ),
)


def test_a_gate_failure_is_one_slack_message_and_one_row_per_check():
    alerts, payload = gate_failure_alerts(
        [FAILURE, FAILURE], run_id="r1", as_of_date=dt.date(2026, 11, 23), stage="the raw data quality gate"
    )
    assert [a.check_name for a in alerts] == ["amount_not_negative"] * 2
    row = alerts[0].as_row()
    assert row["table_name"] == "raw.opportunity" and row["failing_row_count"] == 2
    assert row["examples"][0] == {"value": -500.0, "source": "opportunity.csv line 14"}
    assert set(payload) == {"text", "blocks"}
    header, first, _second, context = payload["blocks"]
    assert header["type"] == "header" and "nothing was published" in header["text"]["text"]
    assert first["text"]["type"] == "mrkdwn"
    assert first["text"]["text"].startswith(
        "*raw.opportunity* · check `amount_not_negative` · 2 failing rows\n"
    )
    assert "-500.0 (opportunity.csv line 14)" in first["text"]["text"]
    assert context["type"] == "context" and "r1" in context["elements"][0]["text"]
    assert "opportunity.csv line 20" in payload["text"]


def test_slack_control_characters_are_escaped_and_limits_kept():
    failure = GateFailure("raw.account", "name_check", "name is <script> & more " + "x" * 5000)
    _, payload = gate_failure_alerts([failure] * 60, run_id=None, as_of_date=None, stage="s")
    assert len(payload["blocks"]) <= 50 and len(payload["text"]) <= 40000
    section = payload["blocks"][1]["text"]["text"]
    assert "&lt;script&gt; &amp; more" in section and len(section) <= 3000
    assert len(slack_payload("h" * 400, [])["blocks"][0]["text"]["text"]) <= 150


def test_no_webhook_configured_or_a_webhook_down_never_raises(webhook):
    assert not post_to_webhook({"text": "t", "blocks": []}, "").delivered
    webhook.clear()
    webhook.status = 500
    delivery = post_to_webhook({"text": "t", "blocks": []}, webhook.url, attempts=2)
    assert not delivery.delivered and "HTTP 500" in delivery.detail
    assert len(webhook.posts) == 2  # retried once
    webhook.clear()
    assert post_to_webhook({"text": "t", "blocks": []}, webhook.url).delivered
    unreachable = post_to_webhook({"text": "t"}, "http://127.0.0.1:9/nothing", attempts=1, timeout=1)
    assert not unreachable.delivered and "could not be reached" in unreachable.detail


def _evaluation(key: list[str], check: str, metadata: dict):
    import dagster as dg

    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(key),
        check_name=check,
        passed=False,
        metadata=metadata,
        severity=dg.AssetCheckSeverity.ERROR,
    )


def test_the_alert_names_the_stage_the_failed_checks_belong_to():
    """From each check's own metadata (the raw gate's `layer`, a dbt test's node id), never
    from the name of the step that ran it; without a failed check, from the step's error
    or the assets the step was to build."""
    import dagster as dg

    from orchestration.alerts import stage_of

    raw = _evaluation(["raw", "opportunity"], "fresh", {"layer": "raw", "table": "raw.opportunity"})
    dbt = _evaluation(["marts", "deal_risk"], "deal_risk_not_null_columns", {"unique_id": "test.p.x"})
    assert stage_of([raw]) == "the raw data quality gate"
    assert stage_of([dbt]) == "the dbt build (models and tests)"
    assert stage_of([raw, dbt]) == "the dbt build (models and tests) and the raw data quality gate"
    refused = dg.Failure(description="x", metadata={"stage": "publishing"})
    assert stage_of([], refused) == "publishing"
    loader = dg.Failure(description="x", metadata={"object": "opportunity", "file": "/l/opportunity.csv"})
    assert stage_of([], loader) == "loading the CRM source (opportunity)"
    assert stage_of([], None, {dg.AssetKey(["raw", "task"])}) == "loading the CRM source"
    assert stage_of([], None, {dg.AssetKey(["marts", "forecast"])}) == "the dbt build (models and tests)"
    assert stage_of([], None, {dg.AssetKey("published_marts")}) == "publishing"
    assert stage_of([], None) == "an unknown step (see the Dagster UI)"
