"""What a build shows on the terminal: one progress line per step, the logs in a file.

`logs_to_file` sends everything the run writes (Dagster's log lines, dbt's output, the
stack traces of failed steps, the output of the dbt subprocess) to a log file, at the
file-descriptor level so that subprocesses are caught too, and hands back streams that
still reach the user's terminal. `StepProgress` listens to the run's events in the
Dagster instance and prints one line as each step finishes (on a terminal, the dbt
build's line counts up as models and tests finish).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

# The build's steps, in order, with the words the progress lines use.
STEP_TITLES = {
    "ingest_crm_source": "ingest",
    "raw_quality_gate": "raw gate",
    "revops_dbt_models": "dbt build",
    "mart_gate": "mart gate",  # the verdict on the marts' dbt tests
    "published_marts": "publish",
}


def log_path_for(warehouse_path: Path, run_id: str) -> Path:
    """`<warehouse>.logs/run-<first 8 characters of the run id>.log`, beside the warehouse."""
    return warehouse_path.with_name(warehouse_path.name + ".logs") / f"run-{run_id[:8]}.log"


def _terminal(stream: TextIO, fd: int) -> tuple[TextIO, bool]:
    """A stream that reaches what `stream` reaches now, after fd `fd` is redirected
    (and whether it is a new stream to close)."""
    try:
        if stream.fileno() == fd:
            duplicate = os.fdopen(os.dup(fd), "w", buffering=1, encoding=getattr(stream, "encoding", None))
            return duplicate, True
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    return stream, False  # not the process's fd (a test's capture): it is not redirected


@contextlib.contextmanager
def logs_to_file(log_path: Path) -> Iterator[tuple[TextIO, TextIO]]:
    """Everything written to stdout and stderr in the block goes to `log_path`; yields
    (stdout, stderr) streams that still reach the terminal."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    out, close_out = _terminal(sys.stdout, 1)
    err, close_err = _terminal(sys.stderr, 2)
    saved = [os.dup(1), os.dup(2)]
    with open(log_path, "a", encoding="utf-8", buffering=1) as log:
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield out, err
        finally:
            for stream in (sys.stdout, sys.stderr, log):
                with contextlib.suppress(Exception):
                    stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            for stream, close in ((out, close_out), (err, close_err)):
                stream.flush()
                if close:
                    stream.close()


@dataclass
class _Step:
    started: float | None = None
    finished: bool = False
    failed: bool = False
    materialized: int = 0
    loaded: int = 0  # materializations with a row count (ingestion: the CRM objects)
    rows: int = 0
    checks: list[Any] = field(default_factory=list)
    publish: dict[str, Any] | None = None


def _value(metadata: dict, key: str) -> Any:
    value = (metadata or {}).get(key)
    return getattr(value, "value", value)


def check_counts(evaluations: list[Any]) -> tuple[int, int, int, int]:
    """(passed, blocking failures, warnings, not tracked) of check evaluations."""
    from dagster import AssetCheckSeverity

    passed = failed = warned = not_tracked = 0
    for evaluation in evaluations:
        status = _value(evaluation.metadata, "status")
        if status == "not_tracked":
            not_tracked += 1
        elif evaluation.passed:
            passed += 1
        elif evaluation.severity == AssetCheckSeverity.ERROR:
            failed += 1
        else:
            warned += 1
    return passed, failed, warned, not_tracked


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class StepProgress:
    """Prints one line per step of the run as it finishes; `dbt_totals` (nodes, tests)
    gives the dbt line its denominators."""

    def __init__(self, out: TextIO, dbt_totals: tuple[int, int], clock: Callable[[], float] = time.monotonic):
        self.out = out
        self.dbt_nodes, self.dbt_tests = dbt_totals
        self.clock = clock
        self.steps: dict[str, _Step] = {}
        self.live = bool(getattr(out, "isatty", lambda: False)())
        self._live_line = False

    # the instance calls this for every event of the run (instance.add_event_listener)
    def __call__(self, entry: Any) -> None:
        event = entry.dagster_event
        if event is None or entry.step_key not in STEP_TITLES:
            return
        step = self.steps.setdefault(entry.step_key, _Step())
        kind = event.event_type_value
        if kind == "STEP_START":
            step.started = self.clock()
        elif kind == "ASSET_MATERIALIZATION":
            step.materialized += 1
            metadata = event.event_specific_data.materialization.metadata
            rows = _value(metadata, "row_count")
            if rows is not None:
                step.loaded += 1
                step.rows += int(rows)
            if entry.step_key in ("published_marts", "mart_gate"):
                step.publish = {k: getattr(v, "value", v) for k, v in metadata.items()}
        elif kind == "ASSET_CHECK_EVALUATION":
            step.checks.append(event.event_specific_data)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            step.finished, step.failed = True, kind == "STEP_FAILURE"
            self._print(entry.step_key, step)
            return
        # the planned-materialization events come before the step starts: not progress yet
        if (
            entry.step_key == "revops_dbt_models"
            and self.live
            and step.started is not None
            and not step.finished
        ):
            self._write_live(self._dbt_line(step))

    def _write_live(self, text: str) -> None:
        width = self._width()
        self.out.write("\r" + text[:width].ljust(width))
        self.out.flush()
        self._live_line = True

    @staticmethod
    def _width() -> int:
        """One terminal line: a longer one wraps, and a carriage return cannot take it back."""
        return max(20, shutil.get_terminal_size((100, 24)).columns - 1)

    def _seconds(self, step: _Step) -> str:
        return f"{self.clock() - step.started:.0f} s" if step.started is not None else "?"

    def _checks(self, step: _Step) -> str:
        passed, failed, warned, not_tracked = check_counts(step.checks)
        text = (
            f"{passed:,} checks passed, {_plural(failed, 'blocking failure')}, {_plural(warned, 'warning')}"
        )
        return text + (f", {not_tracked} not tracked by the source" if not_tracked else "")

    def _dbt_line(self, step: _Step) -> str:
        passed, failed, warned, _ = check_counts(step.checks)
        return (
            f"==> dbt build: {step.materialized:,} of {self.dbt_nodes:,} models, seeds and snapshots built, "
            f"{passed:,} of {self.dbt_tests:,} tests passed"
            + (f", {_plural(failed, 'failed')}" if failed else "")
            + (f", {_plural(warned, 'warning')}" if warned else "")
        )

    def line(self, step_key: str, step: _Step) -> str:
        title = STEP_TITLES[step_key]
        outcome = "FAILED: " if step.failed else ""
        if step_key == "ingest_crm_source":
            body = f"{_plural(step.loaded, 'CRM object')} loaded into raw, {step.rows:,} rows"
        elif step_key == "revops_dbt_models":
            return self._dbt_line(step).replace("==> dbt build: ", f"==> dbt build: {outcome}") + (
                f" ({self._seconds(step)})"
            )
        elif step_key == "published_marts":
            publish = step.publish or {}
            if publish.get("published") is True:
                marts = publish.get("mart_row_counts") or {}
                body = f"{len(marts)} marts published (publish {publish.get('publish_id')})"
            elif publish.get("published") is False:
                body = f"built and gated, not published: {publish.get('not_published_because')}"
            else:
                body = "nothing was published"
        elif step_key == "mart_gate" and step.publish:
            # the verdict on the marts' dbt tests: it runs only when none of them blocked
            verdict = step.publish
            body = (
                f"{int(verdict.get('checks_passed') or 0):,} checks passed, 0 blocking failures, "
                f"{_plural(int(verdict.get('checks_warned') or 0), 'warning')}"
            )
        else:
            body = self._checks(step)
        return f"==> {title}: {outcome}{body} ({self._seconds(step)})"

    def _print(self, step_key: str, step: _Step) -> None:
        text = self.line(step_key, step)
        if self._live_line:
            self.out.write("\r" + " " * self._width() + "\r")
            self._live_line = False
        self.out.write(text + "\n")
        self.out.flush()

    def not_run(self) -> list[str]:
        """The steps that never finished (an earlier one failed, or the run could not start)."""
        return [STEP_TITLES[key] for key in STEP_TITLES if not self.steps.get(key, _Step()).finished]
