"""The two gates as assets of their own, so the graph shows them where they stand:

    landing/<object> -> raw/<object> -> raw_gate -> staging -> ... -> marts -> mart_gate -> published_marts

The checks themselves stay on the tables they check: `raw/<object>` carries the raw suites'
checks (`quality_checks.py`), `marts/<mart>` its dbt tests (dagster-dbt), blocking where the
suite or the test's severity says so. A gate asset is the verdict: it runs after its layer's
blocking checks passed (Dagster holds everything downstream of a failed blocking check),
records how many checks of this run passed, warned or were not tracked, and everything
after it depends on it: staging on the raw gate, publishing on both gates. It re-decides
nothing; it only refuses a run in which its layer did not run (a partial selection).
"""

from collections.abc import Iterable

import dagster as dg

from orchestration.run_records import run_check_records, run_materialized_keys

RAW_GATE_KEY = dg.AssetKey("raw_gate")
MART_GATE_KEY = dg.AssetKey("mart_gate")
GATES_GROUP = "quality_gates"


def _verdict(
    context: dg.AssetExecutionContext, checked: set[dg.AssetKey], layer: str, *, require_built: bool = False
) -> dg.MaterializeResult:
    """The layer's checks of this run, counted. Dagster runs this step only after every
    blocking check on `checked` passed (a failed one holds everything downstream), so it
    decides nothing again; it refuses only a run in which its layer did not run at all (a
    partial selection), which would otherwise pass on no evidence."""
    evaluations = [
        e for _, e in run_check_records(context.instance, context.run_id) if e.asset_key in checked
    ]
    not_run = sorted(
        k.to_user_string() for k in checked - run_materialized_keys(context.instance, context.run_id)
    )
    if (require_built and not_run) or not evaluations:
        what = (
            f"not built in this run: {', '.join(not_run[:10])}"
            if require_built and not_run
            else "no check ran"
        )
        raise dg.Failure(
            description=(
                f"the {layer} judges this run's own tables and checks ({what}); run the whole job "
                "revops_build (`revops run`). Nothing downstream runs."
            ),
            metadata={"stage": layer},
        )
    status = [getattr((e.metadata or {}).get("status"), "value", None) for e in evaluations]
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
            "The mart gate passed: every mart was built in this run and every blocking dbt test of the marts "
            "passed (the checks sit on marts/<mart>). Publishing starts only after it."
        ),
    )
    def mart_gate(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _verdict(context, set(mart_keys), "mart gate", require_built=True)

    return [raw_gate, mart_gate]
