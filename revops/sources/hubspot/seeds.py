"""The seeds a HubSpot team edits: stage map, managers, targets (and the project's stage map).

- `hubspot_stage_map.csv` (pipeline, stage, stage_name): a HubSpot stage, named by its
  pipeline (label or id) and its own label or id, is the project's stage `stage_name`
  (a stage of `stage_map.csv`). Stage labels repeat across pipelines ("Qualified" in Sales
  and in Renewals), hence the pipeline. A stage the file does not list keeps its label
  when the label is a project stage name (any letter case); any other is an error.
- `hubspot_managers.csv` (owner_id, manager_owner_id): HubSpot has no manager field.
- `targets.csv` (owner_id, month_start, amount): HubSpot has no quota table; monthly
  targets per owner, month_start the first day of the month. Header only: not tracked.

Every problem is a SourceError naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from revops.paths import SEEDS_DIR
from revops.sources.conform import SourceError

STAGE_MAP_FILE = "hubspot_stage_map.csv"
MANAGERS_FILE = "hubspot_managers.csv"
TARGETS_FILE = "targets.csv"
PROJECT_STAGE_MAP_FILE = "stage_map.csv"
PROJECT_SEEDS_DIR = SEEDS_DIR
MAX_PROBLEMS = 5


@dataclass(frozen=True)
class ProjectStage:
    name: str
    is_closed: bool
    is_won: bool


@dataclass(frozen=True)
class StageMapRow:
    line: int
    pipeline: str
    stage: str
    stage_name: str


@dataclass(frozen=True)
class Target:
    line: int
    owner_id: str
    month_start: dt.date
    amount: float


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a seed CSV that must have `columns`; [] when the file is absent."""
    if not path.exists():
        return []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            missing = [c for c in columns if c not in header]
            if missing:
                raise SourceError(
                    f"{path}: the header must have the columns {', '.join(columns)} "
                    f"(missing: {', '.join(missing)}; found: {', '.join(header) or 'nothing'})"
                )
            reader.fieldnames = header
            return [
                (number, {k: (v or "").strip() for k, v in row.items() if k})
                for number, row in enumerate(reader, start=2)
                if any((v or "").strip() for v in row.values() if isinstance(v, str))
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"{path} cannot be read as CSV ({exc})") from None


def _raise(path: Path, problems: list[str]) -> None:
    if problems:
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise SourceError(f"{path}: " + "; ".join(problems[:MAX_PROBLEMS]) + more + ".")


def project_stage_map_path(seeds_dir: Path) -> Path:
    """The project's stage map: `seeds_dir/stage_map.csv`, else the repository's seed."""
    candidate = Path(seeds_dir) / PROJECT_STAGE_MAP_FILE
    return candidate if candidate.exists() else PROJECT_SEEDS_DIR / PROJECT_STAGE_MAP_FILE


def read_project_stages(seeds_dir: Path) -> dict[str, ProjectStage]:
    """The project's stages by lower-case name."""
    path = project_stage_map_path(seeds_dir)
    rows = _rows(path, ("stage_name", "is_closed", "is_won"))
    if not rows:
        raise SourceError(f"{path}: the project's stage map is missing or empty")
    return {
        row["stage_name"].lower(): ProjectStage(
            row["stage_name"], row["is_closed"].lower() == "true", row["is_won"].lower() == "true"
        )
        for _, row in rows
    }


def read_stage_map(seeds_dir: Path, project: dict[str, ProjectStage]) -> list[StageMapRow]:
    path = Path(seeds_dir) / STAGE_MAP_FILE
    problems: list[str] = []
    result: list[StageMapRow] = []
    seen: dict[tuple[str, str], StageMapRow] = {}
    for line, row in _rows(path, ("pipeline", "stage", "stage_name")):
        if not row["pipeline"] or not row["stage"]:
            problems.append(f"line {line}: pipeline and stage must both be given")
            continue
        stage = project.get(row["stage_name"].lower())
        if stage is None:
            problems.append(
                f"line {line}: column stage_name: {row['stage_name']!r} is not a stage of "
                f"{PROJECT_STAGE_MAP_FILE} ({', '.join(s.name for s in project.values())})"
            )
            continue
        key = (row["pipeline"].lower(), row["stage"].lower())
        if key in seen and seen[key].stage_name != stage.name:
            problems.append(
                f"line {line}: pipeline {row['pipeline']!r} stage {row['stage']!r} is already "
                f"mapped to {seen[key].stage_name!r} on line {seen[key].line}"
            )
            continue
        seen[key] = StageMapRow(line, row["pipeline"], row["stage"], stage.name)
        result.append(seen[key])
    _raise(path, problems)
    return result


def read_managers(seeds_dir: Path) -> tuple[Path, dict[str, str | None]]:
    """(the file, owner id -> manager owner id)."""
    path = Path(seeds_dir) / MANAGERS_FILE
    problems: list[str] = []
    managers: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    for line, row in _rows(path, ("owner_id", "manager_owner_id")):
        owner, manager = row["owner_id"], row["manager_owner_id"]
        if not owner:
            problems.append(f"line {line}: column owner_id is empty")
        elif owner in managers and managers[owner] != manager:
            problems.append(
                f"line {line}: owner {owner} already has manager {managers[owner]} on line {lines[owner]}"
            )
        elif manager == owner:
            problems.append(f"line {line}: owner {owner} is their own manager")
        else:
            managers[owner], lines[owner] = manager or None, line
    _raise(path, problems)
    return path, managers


def read_targets(seeds_dir: Path, file_name: str = TARGETS_FILE) -> tuple[Path, list[Target]]:
    path = Path(seeds_dir) / file_name
    problems: list[str] = []
    targets: list[Target] = []
    seen: dict[tuple[str, dt.date], int] = {}
    for line, row in _rows(path, ("owner_id", "month_start", "amount")):
        if not row["owner_id"]:
            problems.append(f"line {line}: column owner_id is empty")
            continue
        try:
            month = dt.date.fromisoformat(row["month_start"])
        except ValueError:
            problems.append(
                f"line {line}: column month_start: {row['month_start']!r} is not a date YYYY-MM-DD"
            )
            continue
        if month.day != 1:
            problems.append(f"line {line}: column month_start: {month} is not the first day of a month")
            continue
        try:
            amount = float(row["amount"])
        except ValueError:
            problems.append(f"line {line}: column amount: {row['amount']!r} is not a number")
            continue
        if amount < 0:
            problems.append(f"line {line}: column amount: {amount} is negative")
            continue
        key = (row["owner_id"], month)
        if key in seen:
            problems.append(
                f"line {line}: owner {row['owner_id']} already has a target for {month} on line {seen[key]}"
            )
            continue
        seen[key] = line
        targets.append(Target(line, row["owner_id"], month, amount))
    _raise(path, problems)
    return path, targets
