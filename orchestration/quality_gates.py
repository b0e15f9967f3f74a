"""The two gates as assets of their own, so the graph shows them where they stand:

    landing/<object> -> raw/<object> -> raw_gate -> staging -> ... -> marts -> mart_gate -> published_marts

The checks themselves stay on the tables they check (`quality_checks.py`: `raw/<object>`
and `marts/<mart>` carry them, blocking where the suite says so). A gate asset is the
verdict: it runs after its layer's blocking checks passed (Dagster holds everything
downstream of a failed blocking check), records how many checks of this run passed,
warned or were not tracked, and everything after it depends on it: staging on the raw
gate, publishing on the mart gate.
"""

from collections.abc import Iterable

import dagster as dg

from orchestration.run_records import run_check_records

RAW_GATE_KEY = dg.AssetKey("raw_gate")
MART_GATE_KEY = dg.AssetKey("mart_gate")
GATES_GROUP = "quality_gates"


def _verdict(
    context: dg.AssetExecutionContext, checked: set[dg.AssetKey], layer: str
) -> dg.MaterializeResult:
    evaluations = [
        e for _, e in run_check_records(context.instance, context.run_id) if e.asset_key in checked
    ]
    status = [getattr((e.metadata or {}).get("status"), "value", None) for e in evaluations]
    failed = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    if failed:  # Dagster holds this step after a failed blocking check; never pass one anyway
        names = ", ".join(f"{e.asset_key.to_user_string()}:{e.check_name}" for e in failed[:10])
        raise dg.Failure(description=f"{len(failed)} blocking {layer} checks failed in this run: {names}")
    warned = sum(1 for e in evaluations if not e.passed)
    not_tracked = sum(1 for s in status if s == "not_tracked")
    passed = len(evaluations) - warned - not_tracked
    context.log.info(f"{layer}: {passed} checks passed, {warned} warnings, {not_tracked} not tracked")
    return dg.MaterializeResult(
        metadata={
            "checks_passed": passed,
            "checks_warned": warned,
            "checks_not_tracked": not_tracked,
            "tables": len({e.asset_key for e in evaluations}),
        }
    )


def build_gate_assets(raw_keys: Iterable[dg.AssetKey], mart_keys: Iterable[dg.AssetKey]) -> list:
    raw_keys, mart_keys = sorted(raw_keys, key=str), sorted(mart_keys, key=str)

    @dg.asset(
        key=RAW_GATE_KEY,
        deps=raw_keys,
        group_name=GATES_GROUP,
        description=(
            "The raw gate passed: every blocking check of expectations/raw/ on the raw tables of this run "
            "(the checks sit on raw/<object>). Staging, and so every model, starts only after it."
        ),
    )
    def raw_gate(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _verdict(context, set(raw_keys), "raw gate")

    @dg.asset(
        key=MART_GATE_KEY,
        deps=mart_keys,
        group_name=GATES_GROUP,
        description=(
            "The mart gate passed: every blocking check of expectations/marts/ and every dbt test of the "
            "marts in this run (the checks sit on marts/<mart>). Publishing starts only after it."
        ),
    )
    def mart_gate(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _verdict(context, set(mart_keys), "mart gate")

    return [raw_gate, mart_gate]
