"""What a run did, read back from the Dagster instance: its check evaluations and its
materializations. The one place the other modules (publishing, alerts, the in-process
runner) query run records."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster import DagsterEventType


def run_check_records(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str | None, Any]]:
    """(step key, AssetCheckEvaluation) of every check evaluated in the run."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    out = []
    for record in records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is not None:
            out.append((entry.step_key, event.event_specific_data))
    return out


def run_materialized_keys(instance: dg.DagsterInstance, run_id: str) -> set[dg.AssetKey]:
    """The asset keys the run materialized."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return {r.event_log_entry.dagster_event.asset_key for r in records if r.event_log_entry.dagster_event}


def materialization_metadata(
    instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey
) -> dict[str, Any] | None:
    """The metadata (plain values) of the run's materialization of `key`; None: not materialized."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.asset_key == key:
            metadata = event.event_specific_data.materialization.metadata
            return {k: getattr(v, "value", v) for k, v in metadata.items()}
    return None


def run_planned_keys(instance: dg.DagsterInstance, run_id: str, step_key: str | None) -> set[dg.AssetKey]:
    """The asset keys the run planned `step_key` to materialize (what the step is, from the
    run's own record: a step that failed before materializing anything still planned them)."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    return {
        r.event_log_entry.dagster_event.asset_key
        for r in records
        if r.event_log_entry.dagster_event and r.event_log_entry.step_key == step_key
    }
