"""The field mapping: which source column feeds each contract column, per source.

One YAML file per source (`mappings/<source>.yml` ships a default for each; a team
points `REVOPS_SOURCE_MAPPING` at its own copy):

    source: salesforce_files
    objects:
      opportunity:
        from: opportunity              # file stem / table name; null: not in this source
        columns:
          next_step_date_c: next_meeting_c   # contract column: source column
          trigger_event_c: null              # null: not tracked, even if a column has the name
        pass_through: [region_c]       # extra columns kept for dim_deal_custom_fields
    seeds_dir: my_seeds                # optional: reference files besides the schema (HubSpot's
                                       # stage map, managers, targets); default seeds/

A contract column the file does not name maps to the source column of the same name when
there is one, and is not tracked otherwise. A column the file maps explicitly must exist in
the source: a misspelt mapping is an error, not a silently untracked column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from revops.crm_contract import CRM_OBJECTS
from revops.paths import MAPPINGS_DIR

SOURCE_KINDS = ("salesforce_files", "fivetran_salesforce", "hubspot")


class MappingError(ValueError):
    """A mapping file that cannot be used, explained for people."""


@dataclass(frozen=True)
class ObjectMapping:
    object_name: str
    source_name: str | None  # file stem or table; None: the source does not have it
    columns: Mapping[str, str | None] = field(default_factory=dict)  # only the explicit ones
    pass_through: tuple[str, ...] = ()

    def source_column(self, contract_column: str, available: set[str]) -> str | None:
        """The source column feeding `contract_column`, or None (not tracked).
        Raises MappingError when the mapping names a column the source lacks."""
        if contract_column not in self.columns:
            return contract_column if contract_column in available else None
        explicit = self.columns[contract_column]
        if explicit is None:
            return None
        if explicit not in available:
            # the source's other column names are not repeated: a file's header is its
            # author's text, and messages become alerts
            raise MappingError(
                f"the mapping says {self.object_name}.{contract_column} comes from column "
                f"{explicit!r} of {self.source_name}, but {self.source_name} has no such column "
                f"({len(available)} columns, none of that name)"
            )
        return explicit


@dataclass(frozen=True)
class SourceMapping:
    source: str
    path: Path
    objects: Mapping[str, ObjectMapping]
    # the reference files a source reads besides the schema (HubSpot's stage map, managers
    # and targets); None: the repository's seeds/
    seeds_dir: Path | None = None

    def object(self, name: str) -> ObjectMapping:
        return self.objects.get(name) or ObjectMapping(name, name)


def default_mapping_path(source: str) -> Path:
    return MAPPINGS_DIR / f"{source}.yml"


def load_mapping(path: Path | str, *, expected_source: str | None = None) -> SourceMapping:
    """Read and validate a mapping file; every problem is a MappingError naming the file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise MappingError(f"the mapping file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"the mapping file {path} cannot be read as YAML ({exc})") from None
    problems: list[str] = []
    if not isinstance(document, dict):
        raise MappingError(f"{path}: expected a mapping with keys `source` and `objects`")
    source = document.get("source")
    if source not in SOURCE_KINDS:
        problems.append(f"`source` must be one of {', '.join(SOURCE_KINDS)} (got {source!r})")
    elif expected_source and source != expected_source:
        problems.append(f"it is a mapping for {source}, but the source setting is {expected_source}")
    seeds_dir = document.get("seeds_dir")
    if seeds_dir is not None and not isinstance(seeds_dir, str):
        problems.append("`seeds_dir` must be a folder (relative to the mapping file) or absent")
        seeds_dir = None
    unknown_top = set(document) - {"source", "objects", "seeds_dir"}
    if unknown_top:
        problems.append(
            f"unknown keys {', '.join(sorted(unknown_top))} (expected source, objects, seeds_dir)"
        )
    raw_objects = document.get("objects") or {}
    if not isinstance(raw_objects, dict):
        problems.append("`objects` must map object names to their settings")
        raw_objects = {}
    objects: dict[str, ObjectMapping] = {}
    for name, spec in raw_objects.items():
        if name not in CRM_OBJECTS:
            problems.append(f"objects.{name}: not an object of the contract ({', '.join(CRM_OBJECTS)})")
            continue
        spec = spec or {}
        if not isinstance(spec, dict):
            problems.append(f"objects.{name}: expected keys from, columns, pass_through")
            continue
        unknown_keys = set(spec) - {"from", "columns", "pass_through"}
        if unknown_keys:
            problems.append(f"objects.{name}: unknown keys {', '.join(sorted(unknown_keys))}")
        columns = spec.get("columns") or {}
        if not isinstance(columns, dict):
            problems.append(f"objects.{name}.columns: expected `contract_column: source_column` pairs")
            columns = {}
        for column, source_column in columns.items():
            if column not in CRM_OBJECTS[name].columns:
                problems.append(
                    f"objects.{name}.columns.{column}: not a column of {name} in the contract "
                    f"({', '.join(CRM_OBJECTS[name].columns)})"
                )
            elif source_column is not None and not isinstance(source_column, str):
                problems.append(f"objects.{name}.columns.{column}: expected a column name or null")
        pass_through = spec.get("pass_through") or []
        if not isinstance(pass_through, list) or not all(isinstance(c, str) for c in pass_through):
            problems.append(f"objects.{name}.pass_through: expected a list of column names")
            pass_through = []
        source_name = spec.get("from", name)
        if source_name is not None and not isinstance(source_name, str):
            problems.append(f"objects.{name}.from: expected a file or table name, or null")
        objects[name] = ObjectMapping(
            object_name=name,
            source_name=source_name,
            columns={c: v for c, v in columns.items() if c in CRM_OBJECTS[name].columns},
            pass_through=tuple(pass_through),
        )
    if problems:
        raise MappingError(f"the mapping file {path} has problems: " + "; ".join(problems) + ".")
    return SourceMapping(
        source=str(source),
        path=path,
        objects=objects,
        seeds_dir=(path.parent / seeds_dir).resolve() if seeds_dir else None,
    )
