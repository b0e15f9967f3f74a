"""Finding the file of a CRM object in the landing folder (`opportunity.csv`, `Opportunity.csv.gz`,
`opportunity_history.parquet`, ...) and normalizing column names.
"""

from __future__ import annotations

import re
from pathlib import Path

from revops.crm_contract import CRM_OBJECTS, CrmObject
from revops.landing.errors import LandingFileError
from revops.paths import LANDING_SUFFIXES


def normalize_column_name(header: str) -> str:
    """snake_case of a header: `StageName` -> `stage_name`, `Next_Step_Date__c` ->
    `next_step_date_c`, `Id` -> `id`, ` stage_name ` -> `stage_name`."""
    name = header.replace("\ufeff", "").strip()
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # stageName -> stage_Name
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)  # SLAExpiry -> SLA_Expiry
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def crm_object(obj: CrmObject | str) -> CrmObject:
    if isinstance(obj, CrmObject):
        return obj
    try:
        return CRM_OBJECTS[obj]
    except KeyError:
        raise ValueError(
            f"{obj!r} is not a CRM object of the contract; known: {', '.join(CRM_OBJECTS)}"
        ) from None


def _landing_stem(path: Path) -> str | None:
    """The object a file name stands for, squashed (`OpportunityHistory.csv.gz` ->
    `opportunityhistory`), or None when the suffix is not a landing format."""
    lower = path.name.lower()
    for suffix in sorted(LANDING_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return re.sub(r"[^a-z0-9]", "", lower[: -len(suffix)])
    return None


def _expected_names(name: str) -> str:
    return f"{name}.csv, {name}.csv.gz or {name}.parquet"


def find_landing_file(
    landing_dir: Path | str, obj: CrmObject | str, *, stem: str | None = None, required: bool = True
) -> Path | None:
    """The one landing file of `obj`: `<object>.csv`, `.csv.gz` or `.parquet`, with a
    snake_case or CamelCase stem, any letter case (`ForecastingQuota.CSV`). `stem` names
    the file when the mapping gives it another name; `required=False` returns None when
    there is no such file (an optional object the CRM export does not have)."""
    crm = crm_object(obj)
    folder = Path(landing_dir)
    if not folder.is_dir():
        raise LandingFileError(
            f"The landing folder {folder} does not exist (or is not a folder), so there is no "
            f"file to load for {crm.name}: expected {_expected_names(crm.name)} in it.",
            file=folder,
            object_name=crm.name,
        )
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    files = [p for p in entries if p.is_file()]
    wanted = re.sub(r"[^a-z0-9]", "", (stem or crm.name).lower())
    candidates = [p for p in entries if _landing_stem(p) == wanted]
    if not candidates and not required:
        return None
    if not candidates:
        present = ", ".join(p.name for p in files[:20]) or "no files at all"
        if len(files) > 20:
            present += f" and {len(files) - 20} more"
        raise LandingFileError(
            f"No landing file for {crm.name} in {folder}: expected {_expected_names(crm.name)} "
            f"(CamelCase names such as {_camel(crm.name)}.csv are accepted too). "
            f"The folder has {present}.",
            file=folder,
            object_name=crm.name,
        )
    if len(candidates) > 1:
        raise LandingFileError(
            f"More than one landing file for {crm.name} in {folder}: "
            f"{', '.join(p.name for p in candidates)}. Keep exactly one so the load is unambiguous.",
            file=folder,
            object_name=crm.name,
        )
    return _safe_landing_file(folder, candidates[0], crm)


def _safe_landing_file(folder: Path, path: Path, crm: CrmObject) -> Path:
    """`path` when it is a regular file inside `folder`: a symlink may point to another
    file of the folder, never out of it (`user.csv -> /etc/passwd` would be loaded and
    its first line quoted in an alert), and a device, FIFO or folder is refused."""
    import stat as stat_module

    try:
        inside = path.resolve(strict=True).is_relative_to(folder.resolve(strict=True))
        mode = path.stat().st_mode  # follows the link, if any
    except (OSError, RuntimeError) as exc:  # a dangling or looping link, no permission
        raise LandingFileError(
            f"Cannot load {folder / path.name} into {crm.name}: it cannot be opened "
            f"({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}). Landing files must be readable "
            f"regular files in {folder}.",
            file=folder / path.name,
            object_name=crm.name,
        ) from None
    if not inside:
        raise LandingFileError(
            f"Cannot load {folder / path.name} into {crm.name}: it is a symbolic link to a file "
            f"outside the landing folder {folder}, which the loader refuses (it would read any "
            f"file the link names). Copy the export into the folder instead.",
            file=folder / path.name,
            object_name=crm.name,
        )
    if not stat_module.S_ISREG(mode):
        kind = "a folder" if stat_module.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise LandingFileError(
            f"Cannot load {folder / path.name} into {crm.name}: it is {kind}. Landing files must "
            f"be regular files in {folder}.",
            file=folder / path.name,
            object_name=crm.name,
        )
    return path


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# A change file: only new and changed rows of an object, beside its full file, applied after it
# in the order of its label (`opportunity.changes.2026-11-24.csv`, `Task.changes.2026-11-24T0600.parquet`).
CHANGES_INFIX = ".changes."
_CHANGES_LABEL = re.compile(r"[0-9A-Za-z_:-]+")


def change_label(path: Path) -> str | None:
    """The label of a change file (`2026-11-24` of `opportunity.changes.2026-11-24.csv`), or None."""
    lower = path.name.lower()
    suffix = next((s for s in sorted(LANDING_SUFFIXES, key=len, reverse=True) if lower.endswith(s)), None)
    if suffix is None or CHANGES_INFIX not in lower:
        return None
    label = path.name[lower.index(CHANGES_INFIX) + len(CHANGES_INFIX) : len(path.name) - len(suffix)]
    return label if _CHANGES_LABEL.fullmatch(label) else None


def find_change_files(
    landing_dir: Path | str, obj: CrmObject | str, *, stem: str | None = None
) -> list[Path]:
    """The change files of `obj` in the landing folder, in the order they apply: by label
    (ISO dates and times sort in time order), then by name."""
    crm = crm_object(obj)
    folder = Path(landing_dir)
    wanted = re.sub(r"[^a-z0-9]", "", (stem or crm.name).lower())
    found = []
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        label = change_label(path)
        if label is None:
            continue
        base = path.name[: path.name.lower().index(CHANGES_INFIX)]
        if re.sub(r"[^a-z0-9]", "", base.lower()) == wanted:
            found.append((label, path.name, _safe_landing_file(folder, path, crm)))
    return [path for _, _, path in sorted(found)]
