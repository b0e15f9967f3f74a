"""Deterministic demo CRM data: the eight landing objects of `revops.crm_contract`.

    python -m revops.demo_data --out data/landing --deals 5000 --reps 20 --months 24 \\
        --as-of 2026-11-23 --format csv --seed 42 [--camel-case-headers]

The data is made for the marts to have something to say: ICP deals (all four criteria
of `seeds/icp_rules.csv`) win more often and close faster; reps differ in skill, activity
and CRM hygiene; deals regress, get their close dates pushed, go quiet, stall; open deals
have stale close dates, vague or missing next steps and overdue follow-ups; inbound leads
arrive on the as-of day; quotas follow each rep's closed-won volume (60-120% attainment).
Stage names, probabilities, expected durations and forecast categories come from
`seeds/stage_map.csv`, the ICP rules from `seeds/icp_rules.csv`, read at run time.

Formats (CSV and Parquet hold the same rows in the same order):
- one file per object, `<object>.csv` or `<object>.parquet`, with exactly the contract's
  columns in the contract's order; headers snake_case, or Salesforce API names
  (`StageName`, `Next_Step_Date__c`) with `camel_case_headers`;
- CSV: dates `YYYY-MM-DD`, timestamps ISO 8601 UTC `2025-03-04T15:22:10Z`, booleans
  `true`/`false`, null = empty field. Parquet: date32, timestamp[us] (UTC, no zone),
  bool, int64, double, string;
- ids are Salesforce-like 18-character strings: the object's key prefix (`006` for
  opportunities, ...) and a zero-padded number;
- `probability` (opportunity and opportunity_history) is a percentage 0-100, as
  Salesforce stores it: the stage map's default_probability x 100;
- opportunity_history rows of a soft-deleted opportunity are soft-deleted with it.

Determinism: the same parameters and seed give byte-identical files. Deals are made in
fixed blocks of `CHUNK_DEALS`, each from its own generator seeded by (seed, block
index), so memory stays flat at any scale (a block's rows are written, then dropped).
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from revops.crm_contract import CRM_OBJECTS, CrmObject

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

CHUNK_DEALS = 25_000  # deals per block: part of the algorithm (changing it changes the data)
PROGRESS_MIN_DEALS = 50_000  # progress lines only for runs larger than this
FILE_FORMATS = ("csv", "parquet")

KEY_PREFIXES = {
    "user": "005",
    "account": "001",
    "opportunity": "006",
    "opportunity_history": "008",
    "task": "00T",
    "event": "00U",
    "lead": "00Q",
    "forecasting_quota": "0J9",
}
CONTACT_PREFIX = "003"  # task.who_id: contacts are not part of the contract
ID_DIGITS = 15  # 3-character key prefix + 15 digits = 18 characters

DAY = 86_400
HOUR = 3_600
EPOCH = dt.date(1970, 1, 1)
NEVER = 10**9  # a day number later than any as-of date

DELETED_SHARE = 0.005


# --------------------------------------------------------------------------- vocabularies


@dataclass(frozen=True)
class _Team:
    name: str
    deal_size: float  # median first amount of a new-business deal
    cycle: float  # multiplier on the stage map's expected days
    volume: float  # relative number of deals per rep
    titles: tuple[str, ...]


TEAMS = (
    _Team("Mid-Market", 28_000, 1.0, 1.0, ("Account Executive", "Senior Account Executive")),
    _Team("SMB", 9_000, 0.6, 1.7, ("Account Executive", "Associate Account Executive")),
    _Team("Enterprise", 85_000, 1.5, 0.55, ("Enterprise Account Executive", "Senior Account Executive")),
    _Team("Strategic Accounts", 160_000, 1.8, 0.4, ("Strategic Account Executive",)),
)

FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Ethan",
    "Harper",
    "Logan",
    "Evelyn",
    "Aiden",
    "Abigail",
    "Jackson",
    "Emily",
    "Sebastian",
    "Ella",
    "Henry",
    "Scarlett",
    "Owen",
    "Grace",
    "Daniel",
    "Chloe",
    "Samuel",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Fatima",
    "Omar",
    "Ingrid",
    "Lars",
    "Chiara",
    "Diego",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Patel",
    "Nguyen",
    "Kim",
    "Schmidt",
    "Rossi",
]
USER_EMAIL_DOMAIN = "example.com"

NAME_PREFIXES = [
    "North",
    "Blue",
    "Silver",
    "Red",
    "Green",
    "Bright",
    "Clear",
    "Swift",
    "Iron",
    "Summit",
    "Harbor",
    "Pine",
    "Oak",
    "Cedar",
    "Stone",
    "River",
    "Eagle",
    "Falcon",
    "Atlas",
    "Nova",
    "Apex",
    "Vertex",
    "Quantum",
    "Pioneer",
    "Ever",
    "Lumen",
    "Polar",
    "Crescent",
    "Horizon",
    "Meridian",
]
NAME_ROOTS = [
    "field",
    "bridge",
    "point",
    "wave",
    "gate",
    "line",
    "works",
    "path",
    "stack",
    "forge",
    "light",
    "view",
    "crest",
    "core",
    "shift",
    "sphere",
    "mark",
    "port",
    "ridge",
    "wind",
]
NAME_SUFFIXES = [
    "Inc.",
    "Labs",
    "Group",
    "Systems",
    "Partners",
    "Health",
    "Analytics",
    "Software",
    "Capital",
    "Solutions",
    "Technologies",
    "Holdings",
    "Logistics",
    "Retail",
    "Media",
    "Consulting",
    "Networks",
    "Industries",
    "Co.",
    "Ltd",
]

OTHER_INDUSTRIES = (
    "Retail",
    "Manufacturing",
    "Education",
    "Government",
    "Media",
    "Hospitality",
    "Logistics",
    "Real Estate",
    "Energy",
    "Nonprofit",
    "Software",
    "Financial Services",
    "Healthcare",
    "Professional Services",
    "Construction",
    "Telecommunications",
)
COUNTRIES = (
    "United States",
    "United Kingdom",
    "Canada",
    "Germany",
    "France",
    "Australia",
    "Netherlands",
    "Ireland",
    "Sweden",
    "Singapore",
)
COUNTRY_WEIGHTS = (0.58, 0.12, 0.08, 0.06, 0.04, 0.04, 0.03, 0.02, 0.02, 0.01)

INBOUND_SOURCES = ("Inbound", "Website", "Content Download", "Webinar")
INBOUND_WEIGHTS = (0.35, 0.3, 0.2, 0.15)
OUTBOUND_SOURCES = ("Outbound Prospecting", "Partner Referral", "Event")
OUTBOUND_WEIGHTS = (0.6, 0.25, 0.15)
LEAD_SOURCES = INBOUND_SOURCES + OUTBOUND_SOURCES
# log-odds of winning by lead source, in LEAD_SOURCES order
SOURCE_WIN_ADJ = np.array([0.3, 0.2, 0.0, 0.1, -0.25, 0.45, 0.0])

DEAL_TYPES = ("New Business", "Expansion", "Renewal")
DEAL_TYPE_WEIGHTS = (0.68, 0.2, 0.12)
TYPE_WIN_ADJ = np.array([0.0, 0.8, 1.8])
TYPE_SIZE = np.array([1.0, 0.5, 0.8])

TRIGGER_EVENTS = (
    "Series B funding",
    "New VP of Sales hired",
    "Expansion into a new region",
    "Acquisition",
    "New compliance requirement",
    "Legacy system end of life",
    "Board-mandated digital initiative",
    "Rapid headcount growth",
)
FIT_LEVELS = ("strong", "partial", "weak")

VAGUE_NEXT_STEPS = (
    "follow up",
    "Follow up",
    "Follow Up",
    "FOLLOW UP",
    "Waiting on them",
    "waiting on them",
    "TBD",
    "tbd",
    "Check in",
    "check in",
    "Check In",
)
CONCRETE_NEXT_STEPS = (
    "Send security questionnaire to IT",
    "Schedule demo with the finance team",
    "Send proposal v2 with revised pricing",
    "Book technical deep-dive with engineering",
    "Confirm evaluation plan with champion",
    "Send mutual action plan",
    "Review redlines with legal",
    "Get pricing approval from our VP",
    "Intro call with the economic buyer",
    "Share ROI model with the CFO",
    "Run pilot kickoff with the admin team",
    "Send order form for signature",
    "Align on procurement timeline",
    "Reference call with an existing customer",
    "Present business case to the steering committee",
    "Map stakeholders with champion",
)

# email, call and meeting subjects run from early-stage to late-stage topics
EMAIL_SUBJECTS = (
    "Email: Follow-up on our call",
    "Email: Checking in",
    "Email: Case study you asked for",
    "Email: Meeting recap",
    "Email: Intro to our solutions engineer",
    "Email: Next steps",
    "Email: Security questionnaire",
    "Email: Proposal and pricing",
    "Email: Contract draft",
)
CALL_SUBJECTS = (
    "Call: Left voicemail",
    "Call: Discovery",
    "Call: Check-in with champion",
    "Call: Requirements review",
    "Call: Technical questions",
    "Call: Reference check",
    "Call: Pricing discussion",
    "Call: Procurement questions",
)
OTHER_TASK_SUBJECTS = ("Update opportunity notes", "Prepare proposal", "Internal deal review")
MEETING_SUBJECTS = (
    "Discovery meeting",
    "Product demo",
    "Technical deep-dive",
    "Evaluation kickoff",
    "Business case review",
    "Pricing review",
    "Contract review",
    "Executive sponsor meeting",
)

LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
(LEAD_OPEN, LEAD_WORKING, LEAD_CONVERTED, LEAD_CLOSED) = range(4)

# activity kinds
EMAIL, CALL, OTHER_TASK, MEETING = range(4)


# --------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class StageMap:
    """The stage map seed, as stage codes: 0..n_open-1 open (in order), won, lost."""

    names: tuple[str, ...]
    probability: np.ndarray  # 0-1
    expected_days: np.ndarray
    forecast_category: tuple[str, ...]
    n_open: int

    @property
    def won(self) -> int:
        return self.n_open

    @property
    def lost(self) -> int:
        return self.n_open + 1


@dataclass(frozen=True)
class IcpRules:
    industries: tuple[str, ...]  # empty: any industry
    min_employees: int | None
    max_employees: int | None
    trigger_required: bool
    technical_fit: str | None


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "t", "1", "yes", "y")


def read_stage_map(seeds_dir: Path = SEEDS_DIR) -> StageMap:
    with open(seeds_dir / "stage_map.csv", newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["stage_order"]))
    open_rows = [r for r in rows if not _truthy(r["is_closed"])]
    won = [r for r in rows if _truthy(r["is_closed"]) and _truthy(r["is_won"])]
    lost = [r for r in rows if _truthy(r["is_closed"]) and not _truthy(r["is_won"])]
    if len(open_rows) < 2 or not won or not lost:
        raise ValueError(
            f"{seeds_dir / 'stage_map.csv'} needs at least two open stages, "
            "a closed-won stage and a closed-lost stage"
        )
    ordered = [*open_rows, won[0], lost[0]]

    def days(r: dict) -> float:
        return float(r["expected_days_in_stage"] or 0)

    return StageMap(
        names=tuple(r["stage_name"] for r in ordered),
        probability=np.array([float(r["default_probability"] or 0) for r in ordered]),
        expected_days=np.array([days(r) for r in ordered]),
        forecast_category=tuple(r["default_forecast_category"] for r in ordered),
        n_open=len(open_rows),
    )


def read_icp_rules(seeds_dir: Path = SEEDS_DIR) -> IcpRules:
    industries: list[str] = []
    min_emp = max_emp = fit = None
    trigger = False
    with open(seeds_dir / "icp_rules.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            criterion, rule, value = r["criterion"].strip(), r["rule_type"].strip(), r["rule_value"].strip()
            if criterion == "industry" and rule == "in_list":
                industries.append(value)
            elif criterion == "company_size" and rule == "min_employees":
                min_emp = int(float(value))
            elif criterion == "company_size" and rule == "max_employees":
                max_emp = int(float(value))
            elif criterion == "trigger_event" and rule == "not_blank":
                trigger = True
            elif criterion == "technical_fit" and rule == "equals":
                fit = value
    return IcpRules(tuple(industries), min_emp, max_emp, trigger, fit)


def read_holidays(seeds_dir: Path = SEEDS_DIR) -> set[dt.date]:
    path = seeds_dir / "business_calendar_holidays.csv"
    if not path.exists():
        return set()
    with open(path, newline="", encoding="utf-8") as f:
        return {dt.date.fromisoformat(r["holiday_date"].strip()) for r in csv.DictReader(f)}


# --------------------------------------------------------------------------- helpers


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _month_no(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of day numbers."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_end(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return ((months + 1).astype("datetime64[D]") - 1).astype(np.int64)


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days + 3) % 7  # Monday = 0 (1970-01-01 was a Thursday)


def _shift_off_weekend(
    days: np.ndarray, rng: np.random.Generator, share: float, latest: int | None = None
) -> np.ndarray:
    """Move `share` of weekend days to the Monday after (or the Friday before when that
    would pass `latest`)."""
    wd = _weekday(days)
    move = rng.random(days.shape) < share
    sat, sun = move & (wd == 5), move & (wd == 6)
    out = days + 2 * sat + sun
    if latest is not None:
        over = out > latest
        out = np.where(over & sat, days - 1, np.where(over & sun, days - 2, out))
    return out


def _growth_days(
    rng: np.random.Generator, size: int, first: int, last: int, growth: float = 0.6
) -> np.ndarray:
    """Days in [first, last], density rising linearly by `growth` over the period."""
    u = rng.random(size)
    x = (np.sqrt(1 + u * growth * (2 + growth)) - 1) / growth
    return np.minimum(first + (x * (last - first + 1)).astype(np.int64), last)


def _time_of_day(rng: np.random.Generator, days: np.ndarray, as_of: int) -> np.ndarray:
    """Seconds into the day: business hours (13:00-23:00 UTC, the Americas' working day);
    on the as-of day itself only the morning (06:00-12:00), so nothing lies in its future."""
    tod = rng.integers(13 * HOUR, 23 * HOUR, days.shape)
    morning = rng.integers(6 * HOUR, 12 * HOUR, days.shape)
    return np.where(days == as_of, morning, tod)


def _round_to(values: np.ndarray, step: float) -> np.ndarray:
    return np.maximum(np.round(values / step) * step, step)


def _by_stage(rng: np.random.Generator, stage_frac: np.ndarray, size: int, spread: int) -> np.ndarray:
    """Index into a vocabulary ordered from early- to late-stage: a window of `spread`
    entries that slides along the list as the deal advances (stage_frac 0..1)."""
    spread = min(spread, size)
    start = np.rint(stage_frac * (size - spread)).astype(np.int64)
    return start + rng.integers(0, spread, len(stage_frac))


def _ids(prefix: str, numbers: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, mask=mask), pa.string()), ID_DIGITS, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _take(vocab: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return vocab.take(pa.array(idx, mask=mask))


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def _timestamps(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(seconds.astype(np.int64), type=pa.timestamp("s"), mask=mask)


def api_name(column: str) -> str:
    """Salesforce API name of a snake_case field: `stage_name` -> `StageName`,
    custom `next_step_date_c` -> `Next_Step_Date__c`."""
    if column.endswith("_c"):
        return "_".join(p.capitalize() for p in column[:-2].split("_")) + "__c"
    return "".join(p.capitalize() for p in column.split("_"))


# --------------------------------------------------------------------------- writers

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}
_CSV_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class _ObjectWriter:
    """Appends blocks of one object's rows to its file (written under a temporary name)."""

    def __init__(self, obj: CrmObject, out_dir: Path, file_format: str, camel_case: bool):
        self.obj = obj
        self.file_format = file_format
        self.path = out_dir / f"{obj.name}.{file_format}"
        self.tmp_path = out_dir / f".{obj.name}.{file_format}.partial"
        self.headers = [api_name(c) if camel_case else c for c in obj.required_columns]
        self.rows = 0
        if file_format == "parquet":
            self.schema = pa.schema(
                [pa.field(h, _ARROW_TYPES[t]) for h, t in zip(self.headers, obj.columns.values())]
            )
            self._writer = pq.ParquetWriter(self.tmp_path, self.schema, compression="snappy")
        else:
            self.schema = pa.schema(
                [
                    pa.field(h, pa.string() if t == "TIMESTAMP" else _ARROW_TYPES[t])
                    for h, t in zip(self.headers, obj.columns.values())
                ]
            )
            self._file = open(self.tmp_path, "wb")
            self._file.write((",".join(self.headers) + "\n").encode())
            self._writer = pacsv.CSVWriter(
                self._file,
                self.schema,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
            )

    def write(self, columns: dict[str, pa.Array]) -> None:
        arrays = []
        for name, type_name in self.obj.columns.items():
            array = columns[name]
            if type_name == "TIMESTAMP":
                array = (
                    pc.cast(array, pa.timestamp("us"))
                    if self.file_format == "parquet"
                    else pc.strftime(array, format=_CSV_TIMESTAMP_FORMAT)
                )
            elif array.type != _ARROW_TYPES[type_name]:
                array = pc.cast(array, _ARROW_TYPES[type_name])
            arrays.append(array)
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        if self.file_format == "csv":
            self._file.close()

    def publish(self) -> None:
        os.replace(self.tmp_path, self.path)

    def discard(self) -> None:
        try:
            self.close()
        except Exception:
            pass
        self.tmp_path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- context


@dataclass
class _Context:
    seed: int
    as_of: int  # day number
    first_day: int  # first day of the history window
    stages: StageMap
    icp: IcpRules
    industries: tuple[str, ...]
    n_icp_industries: int
    fit_levels: tuple[str, ...]  # [matching value, others...]
    # users (indexed by user number - 1)
    n_users: int
    reps: np.ndarray  # user indices of reps (active and former)
    rep_weights: np.ndarray
    team: np.ndarray  # team index per user (-1: VP)
    skill: np.ndarray
    activity: np.ndarray
    diligence: np.ndarray
    optimism: np.ndarray
    departure: np.ndarray  # day the rep left (NEVER when active)
    replacement: np.ndarray  # who took over the rep's deals (self when active)
    active_reps: np.ndarray
    # derived per stage code
    stage_days: np.ndarray  # expected days, at least 3
    remaining_days: np.ndarray  # expected days from entering an open stage to closing
    activity_rate: np.ndarray  # logged interactions per calendar day in an open stage
    meeting_share: np.ndarray
    # quotas
    first_quota_month: int  # months since 1970-01
    n_quota_months: int
    won_by_owner_month: np.ndarray
    # pyarrow vocabularies
    vocab: dict[str, pa.Array]
    previous_business_day: int


def _vocab(values) -> pa.Array:
    return pa.array(list(values), type=pa.string())


# --------------------------------------------------------------------------- users


def _build_users(ctx_seed: int, reps: int, first_day: int, as_of: int):
    rng = np.random.default_rng([ctx_seed, 1])
    n_teams = 2 if reps <= 6 else 3 if reps <= 14 else 4
    n_former = max(1, round(reps / 8))
    n_users = 1 + n_teams + reps + n_former
    team = np.full(n_users, -1)
    title: list[str] = ["VP of Sales"]
    department: list[str] = ["Sales"]
    manager = np.full(n_users, -1)  # user index of the manager, -1 none
    created = np.zeros(n_users, dtype=np.int64)
    created[0] = first_day - rng.integers(900, 1500)
    for t in range(n_teams):
        u = 1 + t
        team[u], manager[u] = t, 0
        title.append("Sales Manager")
        department.append(TEAMS[t].name)
        created[u] = first_day - rng.integers(400, 1200)
    rep_users = np.arange(1 + n_teams, n_users)
    active = np.ones(n_users, dtype=bool)
    departure = np.full(n_users, NEVER, dtype=np.int64)
    window = max(as_of - first_day, 1)
    for i, u in enumerate(rep_users):
        t = i % n_teams
        team[u], manager[u] = t, 1 + t
        title.append(TEAMS[t].titles[rng.integers(len(TEAMS[t].titles))])
        department.append(TEAMS[t].name)
        former = i >= reps
        created[u] = first_day - rng.integers(200 if former else 30, 800 if former else 1000)
        if former:
            active[u] = False
            departure[u] = min(first_day + int(window * rng.uniform(0.3, 0.7)), as_of - 30)
    skill = np.clip(rng.lognormal(0, 0.3, n_users), 0.55, 1.8)
    activity = np.clip(rng.lognormal(0, 0.35, n_users), 0.4, 1.8)
    activity[rep_users[rng.integers(min(reps, len(rep_users)))]] = 0.45  # one quiet rep
    diligence = rng.uniform(0.45, 0.95, n_users)
    optimism = rng.uniform(0.55, 0.95, n_users)
    active_reps = rep_users[active[rep_users]]
    replacement = np.arange(n_users)
    for u in rep_users[~active[rep_users]]:
        same_team = active_reps[team[active_reps] == team[u]]
        pool = same_team if len(same_team) else active_reps
        replacement[u] = pool[rng.integers(len(pool))]
    tenure = np.where(active, 1.0, np.clip((departure - first_day) / window, 0.05, 1.0))
    weights = np.array([TEAMS[team[u]].volume for u in rep_users]) * np.sqrt(activity[rep_users])
    weights = weights * tenure[rep_users]
    # names: unique first/last pairs
    pairs = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))
    names, emails = [], []
    for i in range(n_users):
        p = pairs[i % len(pairs)]
        first, last = FIRST_NAMES[p // len(LAST_NAMES)], LAST_NAMES[p % len(LAST_NAMES)]
        suffix = "" if i < len(pairs) else str(i // len(pairs) + 1)
        names.append(f"{first} {last}{suffix}")
        emails.append(f"{first.lower()}.{last.lower()}{suffix}@{USER_EMAIL_DOMAIN}")
    tod = rng.integers(14 * HOUR, 22 * HOUR, n_users)
    numbers = np.arange(1, n_users + 1)
    table = {
        "id": _ids(KEY_PREFIXES["user"], numbers),
        "name": _vocab(names),
        "email": _vocab(emails),
        "manager_id": _ids(KEY_PREFIXES["user"], manager + 1, mask=manager < 0),
        "department": _vocab(department),
        "title": _vocab(title),
        "is_active": pa.array(active),
        "created_date": _timestamps(created * DAY + tod),
    }
    users = dict(
        n_users=n_users,
        reps=rep_users,
        rep_weights=weights / weights.sum(),
        team=team,
        skill=skill,
        activity=activity,
        diligence=diligence,
        optimism=optimism,
        departure=departure,
        replacement=replacement,
        active_reps=active_reps,
    )
    return table, users


# --------------------------------------------------------------------------- blocks


def _company_names(rng: np.random.Generator, n: int, vocab: dict[str, pa.Array]) -> pa.Array:
    prefix = _take(vocab["name_prefix"], rng.integers(len(NAME_PREFIXES), size=n))
    root = _take(vocab["name_root"], rng.integers(len(NAME_ROOTS), size=n))
    suffix = _take(vocab["name_suffix"], rng.integers(len(NAME_SUFFIXES), size=n))
    return pc.binary_join_element_wise(pc.binary_join_element_wise(prefix, root, ""), suffix, " ")


def _firmographics(
    rng: np.random.Generator,
    ctx: _Context,
    n: int,
    fit_share: float,
    industry_share: float,
    size_share: float,
):
    """Industry index (into ctx.industries) and employee counts; `fit_share` of rows are
    made to match the ICP industry and size rules, the rest match each by chance."""
    icp = ctx.icp
    n_icp = ctx.n_icp_industries
    n_other = len(ctx.industries) - n_icp
    forced = rng.random(n) < fit_share
    in_list = forced | (rng.random(n) < industry_share)
    industry = np.where(
        in_list & (n_icp > 0),
        rng.integers(max(n_icp, 1), size=n),
        n_icp + rng.integers(max(n_other, 1), size=n),
    )
    lo = icp.min_employees if icp.min_employees is not None else 50
    hi = icp.max_employees if icp.max_employees is not None else 1000
    lo, hi = max(lo, 1), max(hi, lo)
    in_range = forced | (rng.random(n) < size_share)

    def log_uniform(a: float, b: float) -> np.ndarray:
        return np.exp(rng.uniform(np.log(a), np.log(b + 1), n)).astype(np.int64)

    inside = np.clip(log_uniform(lo, hi), lo, hi)
    small = np.clip(log_uniform(2, max(lo - 1, 2)), 1, max(lo - 1, 1))
    large = np.maximum(log_uniform(hi + 1, max(hi * 25, hi + 2)), hi + 1)
    outside = np.where((rng.random(n) < 0.6) & (lo > 1), small, large)
    employees = np.where(in_range, inside, outside)
    return industry, employees


def _generate_block(
    ctx: _Context,
    block: int,
    n: int,
    deal_base: int,
    counters: dict[str, int],
    writers: dict[str, _ObjectWriter],
) -> None:
    rng = np.random.default_rng([ctx.seed, 0, block])
    A = ctx.as_of
    sm = ctx.stages
    S = sm.n_open
    L = S + 2  # max open segments: every open stage plus one regression (back and forth)
    K = np.arange(L)[None, :]
    vocab = ctx.vocab

    # ---- accounts
    n_acc = max(1, int(round(n * 0.62)))
    acc_numbers = counters["account"] + 1 + np.arange(n_acc)
    counters["account"] += n_acc
    acc_industry, acc_employees = _firmographics(rng, ctx, n_acc, 0.5, 0.4, 0.45)
    acc_names = _company_names(rng, n_acc, vocab)
    acc_revenue = np.round(acc_employees * rng.uniform(60_000, 260_000, n_acc), -3)
    acc_country = rng.choice(len(COUNTRIES), n_acc, p=COUNTRY_WEIGHTS)
    acc_owner = rng.choice(ctx.reps, n_acc, p=ctx.rep_weights)
    acc_ids = _ids(KEY_PREFIXES["account"], acc_numbers)

    # ---- deals: who, what, where from
    dtype_ = rng.choice(len(DEAL_TYPES), n, p=DEAL_TYPE_WEIGHTS)
    acc = rng.integers(0, n_acc, n)
    nb_idx = np.flatnonzero(dtype_ == 0)
    k = min(len(nb_idx), n_acc)
    acc[nb_idx[:k]] = rng.permutation(n_acc)[:k]  # new business first spreads over accounts
    cday = _growth_days(rng, n, ctx.first_day, A)
    cday = _shift_off_weekend(cday, rng, 0.92, latest=A)
    orig = acc_owner[acc]
    orig = np.where(cday >= ctx.departure[orig], ctx.replacement[orig], orig)
    inbound = rng.random(n) < np.where(dtype_ == 0, 0.5, 0.35)
    src = np.where(
        inbound,
        rng.choice(len(INBOUND_SOURCES), n, p=INBOUND_WEIGHTS),
        len(INBOUND_SOURCES) + rng.choice(len(OUTBOUND_SOURCES), n, p=OUTBOUND_WEIGHTS),
    )
    icp = ctx.icp
    industry, employees = acc_industry[acc], acc_employees[acc]
    industry_ok = industry < ctx.n_icp_industries if icp.industries else np.ones(n, bool)
    size_ok = np.ones(n, bool)
    if icp.min_employees is not None:
        size_ok &= employees >= icp.min_employees
    if icp.max_employees is not None:
        size_ok &= employees <= icp.max_employees
    firmo = industry_ok & size_ok
    has_trigger = rng.random(n) < np.where(firmo, 0.9, 0.6)
    trigger = rng.integers(len(TRIGGER_EVENTS), size=n)
    strong = rng.random(n) < np.where(firmo, 0.8, 0.35)
    fit = np.where(strong, 0, np.where(rng.random(n) < 0.6, 1, 2))
    trigger_ok = has_trigger if icp.trigger_required else np.ones(n, bool)
    fit_ok = fit == 0 if icp.technical_fit is not None else np.ones(n, bool)
    n_crit = industry_ok.astype(int) + size_ok + trigger_ok + fit_ok
    is_icp = n_crit == 4

    # ---- outcome and path through the stages
    logit = (
        -2.2
        + 0.3 * n_crit
        + 0.7 * is_icp
        + TYPE_WIN_ADJ[dtype_]
        + SOURCE_WIN_ADJ[src]
        + np.log(ctx.skill[orig])
    )
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    p_skip_first = np.where(inbound, 0.15, 0.05) + np.where(dtype_ > 0, 0.2, 0.0)
    start = np.where((rng.random(n) < p_skip_first) & (S >= 3), 1, 0)
    w = 0.78 ** np.arange(S)
    u = rng.random(n)
    c0 = np.cumsum(w) / w.sum()
    c1 = np.cumsum(w[1:]) / w[1:].sum()
    lost_at = np.where(start == 0, np.searchsorted(c0, u, "right"), 1 + np.searchsorted(c1, u, "right"))
    end = np.where(won, S - 1, np.minimum(lost_at, S - 1))
    base = end - start + 1
    has_reg = (rng.random(n) < np.where(is_icp, 0.07, 0.12)) & (base >= 2)
    r = np.minimum(1 + (rng.random(n) * np.maximum(base - 1, 1)).astype(int), np.maximum(base - 1, 1))
    reg_stop = has_reg & ~won & (r == base - 1) & (rng.random(n) < 0.4)  # back a stage, then lost
    has_skip = ~has_reg & (base >= 3) & (rng.random(n) < 0.05)
    q = 1 + (rng.random(n) * np.maximum(base - 2, 1)).astype(int)
    length = base + np.where(has_reg, np.where(reg_stop, 1, 2), 0) - has_skip
    st, rr, qq = start[:, None], r[:, None], q[:, None]
    P = st + K
    P = np.where(
        has_reg[:, None], np.where(rr >= K, st + K, np.where(rr + 1 == K, st + rr - 1, st + K - 2)), P
    )
    P = np.where(has_skip[:, None], np.where(qq > K, st + K, st + K + 1), P)
    seg = length[:, None] > K
    P = np.where(seg, P, 0)

    # ---- durations and the days each stage was entered; X[:, length] = closing day
    team_cycle = np.array([TEAMS[t].cycle for t in range(len(TEAMS))])[ctx.team[orig]]
    pace = team_cycle * np.where(is_icp, 0.72, 1.0 + 0.1 * (4 - n_crit))
    D = ctx.stage_days[P] * pace[:, None] * rng.lognormal(0, 0.45, (n, L))
    D = np.where(has_reg[:, None] & (rr + 1 == K), D * 0.6, D)
    stuck_u = rng.random(n)  # 12% stuck in one stage for a while, 3% for months
    stuck_k = (rng.random(n) * length).astype(int)
    stuck_by = np.where(
        stuck_u < 0.03, rng.uniform(6.0, 12.0, n), np.where(stuck_u < 0.15, rng.uniform(2.5, 5.0, n), 1.0)
    )
    D = np.where(stuck_k[:, None] == K, D * stuck_by[:, None], D)
    last_seg = (length - 1)[:, None] == K
    D = np.where(~won[:, None] & last_seg, D * np.where(is_icp, 1.4, 2.2)[:, None], D)
    Dint = np.where(seg, np.maximum(1, np.rint(D)), 0).astype(np.int64)
    X = np.concatenate([cday[:, None], cday[:, None] + np.cumsum(Dint, axis=1)], axis=1)
    X[:, 1:] = _shift_off_weekend(X[:, 1:], rng, 0.85)
    for j in range(1, L + 1):
        X[:, j] = np.where(j <= length, np.maximum(X[:, j], X[:, j - 1] + 1), X[:, j])
    rows = np.arange(n)
    T = X[rows, length]
    closed = T <= A
    owner = np.where(ctx.departure[orig] < T, ctx.replacement[orig], orig)  # open when rep left
    handover_day = np.where(owner != orig, ctx.departure[orig], NEVER)

    # ---- close dates, amounts and the pushes between stage changes
    dil = ctx.diligence[orig]
    opt = ctx.optimism[orig] * rng.uniform(0.8, 1.1, n)
    team_size = np.array([t.deal_size for t in TEAMS])[ctx.team[orig]]
    amount = (
        team_size
        * TYPE_SIZE[dtype_]
        * rng.lognormal(0, 0.55, n)
        * np.clip((employees / 250.0) ** 0.2, 0.6, 1.8)
    )
    amount = _round_to(amount, 100.0)

    def planned_close(day: np.ndarray, stage: np.ndarray, snap: float) -> np.ndarray:
        est = day + np.maximum(np.rint(opt * ctx.remaining_days[stage] * team_cycle), 1).astype(np.int64)
        return np.where(rng.random(n) < snap, _month_end(est), est)

    cd = planned_close(X[:, 0], P[:, 0], 0.35)
    ent_cd = np.zeros((n, L), np.int64)
    ent_amt = np.zeros((n, L))
    q_day = np.full((n, L, 2), -1, np.int64)
    q_cd = np.zeros((n, L, 2), np.int64)
    q_amt = np.zeros((n, L, 2))
    for j in range(L):
        active = j < length
        e, nxt = X[:, j], X[:, j + 1]
        if j > 0:
            fix = active & (cd < e) & (rng.random(n) < dil)
            cd = np.where(fix, np.maximum(planned_close(e, P[:, j], 0.3), e + 1), cd)
            change = active & (P[:, j] >= S // 2) & (rng.random(n) < 0.18)
            amount = np.where(change, _round_to(amount * rng.uniform(0.75, 1.2, n), 100.0), amount)
        ent_cd[:, j], ent_amt[:, j] = cd, amount
        for p in range(2):
            day = cd + rng.integers(-4, 8, n)
            push = active & (day > e) & (day < nxt) & (rng.random(n) < dil * 0.9)
            new = day + np.rint(rng.uniform(10, 40, n) * team_cycle).astype(np.int64)
            new = np.where(rng.random(n) < 0.4, _month_end(new), new)
            cd = np.where(push, new, cd)
            change = push & (rng.random(n) < 0.12)
            amount = np.where(change, _round_to(amount * rng.uniform(0.8, 1.1, n), 100.0), amount)
            q_day[:, j, p] = np.where(push, day, -1)
            q_cd[:, j, p], q_amt[:, j, p] = cd, amount
    final_amount = np.where(
        won & (rng.random(n) < 0.3), _round_to(amount * rng.uniform(0.85, 1.0, n), 100.0), amount
    )

    # ---- opportunity_history: entries, pushes, closing; only what happened by as-of
    cols_day, cols_stage, cols_cd, cols_amt, cols_exists = [], [], [], [], []
    for j in range(L):
        cols_day.append(X[:, j])
        cols_stage.append(P[:, j])
        cols_cd.append(ent_cd[:, j])
        cols_amt.append(ent_amt[:, j])
        cols_exists.append(j < length)
        for p in range(2):
            cols_day.append(q_day[:, j, p])
            cols_stage.append(P[:, j])
            cols_cd.append(q_cd[:, j, p])
            cols_amt.append(q_amt[:, j, p])
            cols_exists.append(q_day[:, j, p] >= 0)
    cols_day.append(T)
    cols_stage.append(np.where(won, sm.won, sm.lost))
    cols_cd.append(T)
    cols_amt.append(final_amount)
    cols_exists.append(np.ones(n, bool))
    ev_day = np.stack(cols_day, axis=1)
    ev_stage = np.stack(cols_stage, axis=1)
    ev_cd = np.stack(cols_cd, axis=1)
    ev_amt = np.stack(cols_amt, axis=1)
    ev_valid = np.stack(cols_exists, axis=1) & (ev_day <= A)
    ev_ts = ev_day * DAY + _time_of_day(rng, ev_day, A)
    created_ts = ev_ts[:, 0]
    h_row, h_col = np.nonzero(ev_valid)
    n_cols = ev_day.shape[1]
    last_col = n_cols - 1 - np.argmax(ev_valid[:, ::-1], axis=1)
    cur_stage = ev_stage[rows, last_col]
    cur_amt = ev_amt[rows, last_col]
    cur_cd = ev_cd[rows, last_col]
    last_hist_ts = ev_ts[rows, last_col]
    term_ts = ev_ts[:, -1]

    deal_numbers = deal_base + 1 + rows
    opp_ids = _ids(KEY_PREFIXES["opportunity"], deal_numbers)
    opp_deleted = rng.random(n) < DELETED_SHARE

    n_hist = len(h_row)
    hist_numbers = counters["opportunity_history"] + 1 + np.arange(n_hist)
    counters["opportunity_history"] += n_hist
    hist_stage = ev_stage[h_row, h_col]
    writers["opportunity_history"].write(
        {
            "id": _ids(KEY_PREFIXES["opportunity_history"], hist_numbers),
            "opportunity_id": opp_ids.take(pa.array(h_row)),
            "stage_name": _take(vocab["stage"], hist_stage),
            "amount": pa.array(ev_amt[h_row, h_col]),
            "close_date": _dates(ev_cd[h_row, h_col]),
            "probability": pa.array(_probability_pct(sm)[hist_stage]),
            "forecast_category": _take(vocab["forecast_category"], hist_stage),
            "created_date": _timestamps(ev_ts[h_row, h_col]),
            "is_deleted": pa.array(opp_deleted[h_row]),
        }
    )

    # ---- next steps (current state; not part of the history)
    cur_seg = np.where(closed, length - 1, (X[:, :L] <= A).sum(axis=1) - 1)
    is_open = ~closed
    kind_u = rng.random(n)
    blank_p = 0.06 + 0.3 * (1 - ctx.diligence[owner])
    ns_kind = np.where(
        kind_u < blank_p, 0, np.where(kind_u < blank_p + 0.12, 1, 2)
    )  # 0 blank 1 vague 2 concrete
    date_u = rng.random(n)
    # concrete: overdue 22%, today 8%, 1-7 days 35%, 8-45 days 25%, none 10%
    offset = np.select(
        [date_u < 0.22, date_u < 0.30, date_u < 0.65, date_u < 0.90],
        [-rng.integers(1, 30, n), np.zeros(n, np.int64), rng.integers(1, 8, n), rng.integers(8, 46, n)],
        default=0,
    )
    ns_has_date = np.where(ns_kind == 2, date_u < 0.90, np.where(ns_kind == 1, date_u < 0.7, date_u < 0.1))
    ns_date = A + offset
    stage_frac = P[rows, np.minimum(cur_seg, length - 1)] / max(S - 1, 1)
    concrete = _by_stage(rng, stage_frac, len(CONCRETE_NEXT_STEPS), 4)
    vague = rng.integers(len(VAGUE_NEXT_STEPS), size=n)
    # closed deals: a quarter keep their last concrete next step, dated before closing
    keep_closed = closed & (rng.random(n) < 0.25)
    ns_text_kind = np.where(is_open, ns_kind, np.where(keep_closed, 2, 0))
    ns_date = np.where(is_open, ns_date, T - rng.integers(0, 10, n))
    ns_date_mask = ~np.where(is_open, ns_has_date, keep_closed)
    ns_text = pc.if_else(
        pa.array(ns_text_kind == 1),
        _take(vocab["vague"], vague),
        _take(vocab["concrete"], concrete, mask=ns_text_kind == 0),
    )
    ns_edit_day = np.where(is_open, np.maximum(last_hist_ts // DAY, A - rng.integers(0, 21, n)), T)
    ns_edit_ts = np.maximum(ns_edit_day * DAY + _time_of_day(rng, ns_edit_day, A), last_hist_ts)
    no_later = A * DAY + 12 * HOUR - 1  # nothing is dated after the as-of morning
    last_modified = np.where(
        closed,
        term_ts + rng.integers(60, 6 * HOUR, n),
        np.where(ns_text_kind > 0, ns_edit_ts, last_hist_ts + rng.integers(0, 2 * HOUR, n)),
    )
    last_modified = np.maximum(np.minimum(last_modified, no_later), last_hist_ts)

    type_label = _take(vocab["type"], dtype_)
    opp_name = pc.binary_join_element_wise(acc_names.take(pa.array(acc)), type_label, " - ")
    writers["opportunity"].write(
        {
            "id": opp_ids,
            "account_id": acc_ids.take(pa.array(acc)),
            "owner_id": _ids(KEY_PREFIXES["user"], owner + 1),
            "name": opp_name,
            "stage_name": _take(vocab["stage"], cur_stage),
            "amount": pa.array(cur_amt),
            "close_date": _dates(cur_cd),
            "created_date": _timestamps(created_ts),
            "last_modified_date": _timestamps(last_modified),
            "is_closed": pa.array(cur_stage >= S),
            "is_won": pa.array(cur_stage == sm.won),
            "forecast_category_name": _take(vocab["forecast_category"], cur_stage),
            "probability": pa.array(_probability_pct(sm)[cur_stage]),
            "lead_source": _take(vocab["lead_source"], src),
            "type": type_label,
            "next_step": ns_text,
            "next_step_date_c": _dates(ns_date, mask=ns_date_mask),
            "trigger_event_c": _take(vocab["trigger"], trigger, mask=~has_trigger),
            "technical_fit_c": _take(vocab["fit"], fit),
            "is_deleted": pa.array(opp_deleted),
        }
    )

    # ---- accounts (created before their first deal)
    first_deal_ts = np.full(n_acc, NEVER * DAY, np.int64)
    np.minimum.at(first_deal_ts, acc, created_ts)
    no_deal = first_deal_ts == NEVER * DAY
    lead_time = np.where(
        rng.random(n_acc) < 0.3, rng.integers(0, 700, n_acc), rng.integers(0, 120, n_acc)
    ) * DAY + rng.integers(0, 3 * HOUR, n_acc)
    acc_created = np.where(
        no_deal,
        _growth_days(rng, n_acc, ctx.first_day, A) * DAY + 15 * HOUR,
        first_deal_ts - lead_time - HOUR,
    )
    acc_created = np.minimum(acc_created, A * DAY + 6 * HOUR)
    writers["account"].write(
        {
            "id": acc_ids,
            "name": acc_names,
            "industry": _take(vocab["industry"], acc_industry),
            "number_of_employees": pa.array(acc_employees),
            "annual_revenue": pa.array(acc_revenue.astype(float)),
            "billing_country": _take(vocab["country"], acc_country),
            "owner_id": _ids(KEY_PREFIXES["user"], acc_owner + 1),
            "created_date": _timestamps(acc_created),
        }
    )

    # ---- quota basis: closed-won amount per owner and month
    wm = closed & won
    month = _month_no(T[wm]) - ctx.first_quota_month
    inside = (month >= 0) & (month < ctx.n_quota_months)
    np.add.at(ctx.won_by_owner_month, (owner[wm][inside], month[inside]), final_amount[wm][inside])

    # ---- activities: steady work in each stage, bursts around stage changes, silence
    eng = ctx.activity[orig] * rng.lognormal(0, 0.3, n) * np.where(is_icp, 1.1, 1.0)
    seg_start = X[:, :L]
    seg_ok = seg & (seg_start <= A)
    seg_len = np.where(seg_ok, np.clip(np.minimum(X[:, 1:], A + 15) - seg_start, 0, None), 0)
    cnt = rng.poisson(ctx.activity_rate[P] * eng[:, None] * seg_len)
    flat = np.repeat(np.arange(n * L), cnt.ravel())
    a_deal = flat // L
    a_t = seg_start.ravel()[flat] + rng.random(len(flat)) * seg_len.ravel()[flat]
    a_stage = P.ravel()[flat]
    K1 = np.arange(L + 1)[None, :]
    bmask = (K1 >= 1) & (length[:, None] >= K1) & (X <= A + 15)
    bcnt = rng.poisson(np.where(bmask, 1.6 * eng[:, None], 0.0))
    flatb = np.repeat(np.arange(n * (L + 1)), bcnt.ravel())
    b_deal = flatb // (L + 1)
    b_k = flatb % (L + 1)
    b_t = X.ravel()[flatb] + rng.normal(0, 1.5, len(flatb))
    b_stage = P[b_deal, np.minimum(b_k, length[b_deal] - 1)]
    a_deal = np.concatenate([a_deal, b_deal])
    a_t = np.concatenate([a_t, b_t])
    a_stage = np.concatenate([a_stage, b_stage])
    m = len(a_deal)
    a_day = _shift_off_weekend(np.floor(a_t).astype(np.int64), rng, 0.9)
    kind_r = rng.random(m)
    ms = ctx.meeting_share[a_stage]
    rest = (kind_r - ms) / (1 - ms)
    a_kind = np.where(
        kind_r < ms, MEETING, np.where(rest < 0.6, EMAIL, np.where(rest < 0.97, CALL, OTHER_TASK))
    )
    tod = _time_of_day(rng, a_day, A)
    tod = np.where(a_kind == MEETING, tod // 1800 * 1800, tod)
    a_ts = a_day * DAY + tod
    # deals going quiet: lost deals before the loss, some open deals until today
    life_end = np.where(closed, T, A).astype(float)
    quiet_u = rng.random(n)
    quiet_days = np.where(
        closed & ~won,
        np.where(quiet_u < 0.65, rng.uniform(10, 45, n), 0.0),
        np.where(
            is_open,
            np.where(quiet_u < 0.35, rng.uniform(8, 50, n), 0.0),
            np.where(quiet_u < 0.05, rng.uniform(3, 10, n), 0.0),
        ),
    )
    quiet_from = np.where(quiet_days > 0, life_end - quiet_days, np.inf)
    future = a_day > A
    keep = a_ts >= created_ts[a_deal]
    keep &= ~closed[a_deal] | (a_ts <= term_ts[a_deal])
    keep &= ~future | ((a_day <= A + 14) & (rng.random(m) < 0.5))
    keep &= (a_ts / DAY < quiet_from[a_deal]) | (quiet_days[a_deal] == 0)
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((a_ts[idx], a_deal[idx]))]
    a_deal, a_ts, a_day, a_kind, a_stage, future = (
        a_deal[idx],
        a_ts[idx],
        a_day[idx],
        a_kind[idx],
        a_stage[idx],
        future[idx],
    )
    a_owner = np.where(a_day >= handover_day[a_deal], owner[a_deal], orig[a_deal])
    a_deleted = opp_deleted[a_deal] | (rng.random(len(a_deal)) < 0.001)
    on_account = rng.random(len(a_deal)) < 0.03
    what_id = pc.if_else(
        pa.array(on_account), acc_ids.take(pa.array(acc[a_deal])), opp_ids.take(pa.array(a_deal))
    )

    is_task = a_kind != MEETING
    t = np.flatnonzero(is_task)
    t_n = len(t)
    t_future = future[t]
    t_kind = a_kind[t]
    t_ts = a_ts[t]
    t_deal = a_deal[t]
    overdue = ~t_future & is_open[t_deal] & (rng.random(t_n) < 0.02)
    not_started = t_future | overdue
    created_lead = np.where(t_kind == EMAIL, 0, rng.integers(0, 2 * DAY, t_n))
    t_created = np.where(
        not_started,
        np.minimum(t_ts - rng.integers(DAY, 7 * DAY, t_n), no_later),
        t_ts - created_lead,
    )
    t_created = np.minimum(np.maximum(t_created, created_ts[t_deal]), no_later)
    t_created = np.where(not_started, t_created, np.minimum(t_created, t_ts))
    no_completed = not_started | (rng.random(t_n) < 0.05)
    t_stage_frac = np.minimum(a_stage[t], S - 1) / max(S - 1, 1)
    t_subject = pc.if_else(
        pa.array(t_kind == EMAIL),
        _take(vocab["email_subject"], _by_stage(rng, t_stage_frac, len(EMAIL_SUBJECTS), 4)),
        pc.if_else(
            pa.array(t_kind == CALL),
            _take(vocab["call_subject"], _by_stage(rng, t_stage_frac, len(CALL_SUBJECTS), 3)),
            _take(vocab["other_subject"], rng.integers(len(OTHER_TASK_SUBJECTS), size=t_n)),
        ),
    )
    t_type = np.select([t_kind == EMAIL, t_kind == CALL], [0, 1], 2)
    who = (deal_numbers[t_deal] - 1) * 3 + 1 + rng.integers(0, 3, t_n)
    task_numbers = counters["task"] + 1 + np.arange(t_n)
    counters["task"] += t_n
    writers["task"].write(
        {
            "id": _ids(KEY_PREFIXES["task"], task_numbers),
            "what_id": what_id.take(pa.array(t)),
            "who_id": _ids(CONTACT_PREFIX, who, mask=rng.random(t_n) < 0.08),
            "owner_id": _ids(KEY_PREFIXES["user"], a_owner[t] + 1),
            "subject": t_subject,
            "task_subtype": _take(vocab["task_subtype"], t_type),
            "type": _take(vocab["task_type"], t_type),
            "status": _take(vocab["task_status"], not_started.astype(int)),
            "activity_date": _dates(t_ts // DAY),
            "created_date": _timestamps(t_created),
            "completed_date_time": _timestamps(t_ts, mask=no_completed),
            "is_closed": pa.array(~not_started),
            "is_deleted": pa.array(a_deleted[t]),
        }
    )

    e = np.flatnonzero(~is_task)
    e_n = len(e)
    e_ts = a_ts[e]
    e_deal = a_deal[e]
    e_created = np.maximum(
        e_ts - rng.integers(1, 10, e_n) * DAY + rng.integers(-3 * HOUR, 3 * HOUR, e_n), created_ts[e_deal]
    )
    e_created = np.minimum(np.minimum(e_created, e_ts), no_later)
    e_stage_frac = np.minimum(a_stage[e], S - 1) / max(S - 1, 1)
    e_subject = _by_stage(rng, e_stage_frac, len(MEETING_SUBJECTS), 3)
    event_numbers = counters["event"] + 1 + np.arange(e_n)
    counters["event"] += e_n
    writers["event"].write(
        {
            "id": _ids(KEY_PREFIXES["event"], event_numbers),
            "what_id": what_id.take(pa.array(e)),
            "owner_id": _ids(KEY_PREFIXES["user"], a_owner[e] + 1),
            "subject": _take(vocab["meeting_subject"], e_subject),
            "type": _take(vocab["event_type"], np.zeros(e_n, np.int64)),
            "start_date_time": _timestamps(e_ts),
            "end_date_time": _timestamps(e_ts + rng.choice([1800, 2700, 3600], e_n)),
            "created_date": _timestamps(e_created),
            "is_deleted": pa.array(a_deleted[e]),
        }
    )

    # ---- leads: the converted ones behind deals, the rest, and this morning's inbound
    conv = np.flatnonzero((dtype_ == 0) & (rng.random(n) < np.where(inbound, 0.8, 0.3)))
    c_n = len(conv)
    c_created = created_ts[conv] - rng.integers(1, 25, c_n) * DAY - rng.integers(0, 3 * HOUR, c_n)
    u_n = int(round(n * 0.85))
    u_day = _shift_off_weekend(_growth_days(rng, u_n, ctx.first_day, A), rng, 0.8, latest=A)
    f_n = 10 if block == 0 else 0  # inbound leads created today and the previous business day
    f_day = np.array([A] * 6 + [ctx.previous_business_day] * 4, np.int64)[:f_n]
    u_day = np.concatenate([u_day, f_day])
    u_created = u_day * DAY + _time_of_day(rng, u_day, A)
    age = A - u_day
    su = rng.random(u_n + f_n)
    u_status = np.where(
        age <= 3,
        np.where(su < 0.8, LEAD_OPEN, LEAD_WORKING),
        np.where(
            age <= 30,
            np.select([su < 0.25, su < 0.75], [LEAD_OPEN, LEAD_WORKING], LEAD_CLOSED),
            np.select([su < 0.05, su < 0.15], [LEAD_OPEN, LEAD_WORKING], LEAD_CLOSED),
        ),
    )
    u_status[u_n:] = LEAD_OPEN
    u_inbound = rng.random(u_n + f_n) < 0.55
    u_inbound[u_n:] = True
    u_src = np.where(
        u_inbound,
        rng.choice(len(INBOUND_SOURCES), u_n + f_n, p=INBOUND_WEIGHTS),
        len(INBOUND_SOURCES) + rng.choice(len(OUTBOUND_SOURCES), u_n + f_n, p=OUTBOUND_WEIGHTS),
    )
    u_owner = ctx.active_reps[rng.integers(len(ctx.active_reps), size=u_n + f_n)]
    u_industry, u_employees = _firmographics(rng, ctx, u_n + f_n, 0.2, 0.4, 0.45)
    u_company = _company_names(rng, u_n + f_n, vocab)
    lead_created = np.concatenate([c_created, u_created])
    order = np.argsort(lead_created, kind="stable")
    l_n = c_n + u_n + f_n
    is_conv = np.concatenate([np.ones(c_n, bool), np.zeros(u_n + f_n, bool)])
    l_deleted = rng.random(l_n) < DELETED_SHARE
    l_deleted[c_n + u_n :] = False
    lead_numbers = counters["lead"] + 1 + np.arange(l_n)
    counters["lead"] += l_n
    o = pa.array(order)
    writers["lead"].write(
        {
            "id": _ids(KEY_PREFIXES["lead"], lead_numbers),
            "owner_id": _ids(KEY_PREFIXES["user"], np.concatenate([orig[conv], u_owner])[order] + 1),
            "lead_source": _take(vocab["lead_source"], np.concatenate([src[conv], u_src])[order]),
            "status": _take(
                vocab["lead_status"], np.concatenate([np.full(c_n, LEAD_CONVERTED), u_status])[order]
            ),
            "company": pa.concat_arrays([acc_names.take(pa.array(acc[conv])), u_company]).take(o),
            "industry": _take(vocab["industry"], np.concatenate([industry[conv], u_industry])[order]),
            "number_of_employees": pa.array(np.concatenate([employees[conv], u_employees])[order]),
            "created_date": _timestamps(lead_created[order]),
            "is_converted": pa.array(is_conv[order]),
            "converted_date": _dates(
                np.concatenate([cday[conv], np.zeros(u_n + f_n, np.int64)])[order], mask=~is_conv[order]
            ),
            "converted_opportunity_id": pa.concat_arrays(
                [opp_ids.take(pa.array(conv)), pa.nulls(u_n + f_n, pa.string())]
            ).take(o),
            "is_deleted": pa.array(l_deleted[order]),
        }
    )


def _probability_pct(sm: StageMap) -> np.ndarray:
    """Stage probability as Salesforce stores it: a percentage 0-100."""
    return np.round(sm.probability * 100, 6)


# --------------------------------------------------------------------------- quotas


def _quota_table(ctx: _Context, seed: int) -> dict[str, pa.Array]:
    rng = np.random.default_rng([seed, 2])
    months = ctx.n_quota_months
    month_days = (
        (np.arange(months) + ctx.first_quota_month)
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    as_of_month = int(_month_no(np.array([ctx.as_of]))[0]) - ctx.first_quota_month
    # steady state: after the first four months of the window, up to the last full month
    steady = (np.arange(months) >= min(4, max(as_of_month - 1, 0))) & (np.arange(months) < as_of_month)
    if not steady.any():
        steady = np.arange(months) <= as_of_month
    growth = 0.6
    x = np.clip((month_days - ctx.first_day) / max(ctx.as_of - ctx.first_day, 1), 0, None)
    quarter_x = x[(np.arange(months) // 3) * 3]  # quotas step up each quarter of the window
    trend = (1 + growth * quarter_x) / (1 + growth * x[steady]).mean()
    base = np.zeros(ctx.n_users)
    for u in ctx.reps:
        tenure = steady & (month_days < ctx.departure[u])
        base[u] = ctx.won_by_owner_month[u, tenure].mean() if tenure.any() else 0.0
    fallback = np.median(base[ctx.reps][base[ctx.reps] > 0]) if (base[ctx.reps] > 0).any() else 10_000.0
    rows_owner, rows_month, amounts = [], [], []
    for u in ctx.reps:
        level = base[u] if base[u] > 0 else fallback
        attainment = rng.uniform(0.75, 1.1)
        for mth in range(months):
            if month_days[mth] >= ctx.departure[u]:
                break
            rows_owner.append(u)
            rows_month.append(mth)
            amounts.append(max(round(level / attainment * trend[mth] / 500) * 500, 500))
    owners = np.array(rows_owner, np.int64)
    return {
        "id": _ids(KEY_PREFIXES["forecasting_quota"], np.arange(1, len(owners) + 1)),
        "quota_owner_id": _ids(KEY_PREFIXES["user"], owners + 1),
        "start_date": _dates(month_days[np.array(rows_month, np.int64)]),
        "quota_amount": pa.array(np.array(amounts, float)),
    }


# --------------------------------------------------------------------------- entry points


def _previous_business_day(day: dt.date, holidays: set[dt.date]) -> dt.date:
    d = day - dt.timedelta(days=1)
    while d.weekday() >= 5 or d in holidays:
        d -= dt.timedelta(days=1)
    return d


def generate_demo_data(
    out_dir: str | os.PathLike,
    *,
    reps: int = 20,
    deals: int = 5000,
    months: int = 24,
    as_of_date: dt.date | None = None,
    seed: int = 42,
    file_format: str = "csv",
    camel_case_headers: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write the eight CRM objects to `out_dir`; return the rows written per object.

    `reps` active sales reps (plus a few former, inactive reps and one manager per
    team), `deals` opportunities created over the `months` months up to `as_of_date`
    (default: today, UTC). Files of the other format for the same objects are removed
    so the folder holds one file per object. Runs of more than 50,000 deals report
    progress per block of deals to `progress` (default: a line on stderr).
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {FILE_FORMATS} (got {file_format!r})")
    if reps < 1 or deals < 1 or months < 1:
        raise ValueError("reps, deals and months must each be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    started = time.monotonic()
    as_of = as_of_date or dt.datetime.now(dt.UTC).date()
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    first_date = _add_months(as_of, -months)
    stages = read_stage_map()
    icp = read_icp_rules()
    holidays = read_holidays()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    as_of_day, first_day = _day(as_of), _day(first_date)
    user_table, users = _build_users(seed, reps, first_day, as_of_day)
    other_industries = tuple(i for i in OTHER_INDUSTRIES if i not in icp.industries)
    fit_levels = (
        (icp.technical_fit, *[f for f in FIT_LEVELS if f != icp.technical_fit][:2])
        if icp.technical_fit is not None
        else FIT_LEVELS
    )
    S = stages.n_open
    stage_days = np.maximum(stages.expected_days, 3.0)
    remaining = np.concatenate([np.cumsum(stage_days[:S][::-1])[::-1], [0.0, 0.0]])
    first_quota_month = int(_month_no(np.array([first_day]))[0])
    n_quota_months = int(_month_no(np.array([as_of_day]))[0]) + 7 - first_quota_month
    ctx = _Context(
        seed=seed,
        as_of=as_of_day,
        first_day=first_day,
        stages=stages,
        icp=icp,
        industries=icp.industries + other_industries,
        n_icp_industries=len(icp.industries),
        fit_levels=fit_levels,
        stage_days=stage_days,
        remaining_days=remaining,
        activity_rate=np.concatenate([np.linspace(0.24, 0.42, S), [0.3, 0.3]]),
        meeting_share=np.concatenate([np.linspace(0.12, 0.25, S), [0.2, 0.2]]),
        first_quota_month=first_quota_month,
        n_quota_months=n_quota_months,
        won_by_owner_month=np.zeros((users["n_users"], n_quota_months)),
        previous_business_day=_day(_previous_business_day(as_of, holidays)),
        vocab={
            "name_prefix": _vocab(NAME_PREFIXES),
            "name_root": _vocab(NAME_ROOTS),
            "name_suffix": _vocab(NAME_SUFFIXES),
            "industry": _vocab(icp.industries + other_industries),
            "country": _vocab(COUNTRIES),
            "stage": _vocab(stages.names),
            "forecast_category": _vocab(stages.forecast_category),
            "lead_source": _vocab(LEAD_SOURCES),
            "type": _vocab(DEAL_TYPES),
            "trigger": _vocab(TRIGGER_EVENTS),
            "fit": _vocab(fit_levels),
            "vague": _vocab(VAGUE_NEXT_STEPS),
            "concrete": _vocab(CONCRETE_NEXT_STEPS),
            "email_subject": _vocab(EMAIL_SUBJECTS),
            "call_subject": _vocab(CALL_SUBJECTS),
            "other_subject": _vocab(OTHER_TASK_SUBJECTS),
            "meeting_subject": _vocab(MEETING_SUBJECTS),
            "task_subtype": _vocab(("Email", "Call", "Task")),
            "task_type": _vocab(("Email", "Call", "Other")),
            "task_status": _vocab(("Completed", "Not Started")),
            "event_type": _vocab(("Meeting",)),
            "lead_status": _vocab(LEAD_STATUSES),
        },
        **users,
    )

    report = progress
    if report is None:

        def report(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    writers = {
        name: _ObjectWriter(obj, out, file_format, camel_case_headers) for name, obj in CRM_OBJECTS.items()
    }
    try:
        writers["user"].write(user_table)
        counters = dict.fromkeys(CRM_OBJECTS, 0)
        n_blocks = -(-deals // CHUNK_DEALS)
        for block in range(n_blocks):
            base = block * CHUNK_DEALS
            size = min(CHUNK_DEALS, deals - base)
            _generate_block(ctx, block, size, base, counters, writers)
            if deals > PROGRESS_MIN_DEALS:
                done = base + size
                report(
                    f"deals {done:,}/{deals:,} ({done * 100 // deals}%) — {time.monotonic() - started:.1f} s"
                )
        writers["forecasting_quota"].write(_quota_table(ctx, seed))
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.discard()
        raise
    other = "parquet" if file_format == "csv" else "csv"
    for w in writers.values():
        w.publish()
        (out / f"{w.obj.name}.{other}").unlink(missing_ok=True)
    return {name: w.rows for name, w in writers.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m revops.demo_data", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/landing", help="output folder (default data/landing)")
    parser.add_argument("--deals", type=int, default=5000, help="number of deals (default 5000)")
    parser.add_argument("--reps", type=int, default=20, help="number of active reps (default 20)")
    parser.add_argument("--months", type=int, default=24, help="months of history (default 24)")
    parser.add_argument("--as-of", help="the last day of history, YYYY-MM-DD (default today, UTC)")
    parser.add_argument("--format", choices=FILE_FORMATS, default="csv")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--camel-case-headers",
        action="store_true",
        help="Salesforce API names as headers (StageName, Next_Step_Date__c)",
    )
    args = parser.parse_args(argv)
    try:
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        parser.error(f"--as-of must be a date written YYYY-MM-DD (got {args.as_of!r})")
    started = time.monotonic()
    try:
        counts = generate_demo_data(
            args.out,
            reps=args.reps,
            deals=args.deals,
            months=args.months,
            as_of_date=as_of,
            seed=args.seed,
            file_format=args.format,
            camel_case_headers=args.camel_case_headers,
        )
    except ValueError as error:
        print(f"demo_data: {error}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    print(
        f"Demo CRM data ({args.format}, seed {args.seed}) written to {args.out} "
        f"in {time.monotonic() - started:.1f} s: {rows}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
