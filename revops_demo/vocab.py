"""Constants and vocabularies of the demo CRM: id prefixes, teams, names, sources, subjects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

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
    "subscription": "a0S",  # a custom object's prefix: subscriptions are not a standard object
}
CONTACT_PREFIX = "003"  # task.who_id: contacts are not part of the contract
ID_DIGITS = 15  # 3-character key prefix + 15 digits = 18 characters

DAY = 86_400
HOUR = 3_600
EPOCH = dt.date(1970, 1, 1)
NEVER = 10**9  # a day number later than any as-of date

DELETED_SHARE = 0.005

# --- the story (docs/demo_data.md)
PLANNED_PUSHES = 2  # close-date changes per stage around the planned date ...
PUSHES = 6  # ... and up to four catch-ups: a close date reached without closing is moved,
CATCH_UP_SAME_DAY = 0.75  # on the day itself, else at a review 1-14 days later, with
CATCH_UP_LATE_DAYS = 15
CATCH_UP_BASE = 0.5  # ... probability base + this x the rep's diligence (0.45-0.95)
CATCH_UP_DILIGENCE = 0.3
CLOSE_DATE_REALISM = 0.3  # planned time to close = (rep optimism 0.55-0.95 + this) x stage time left
PLAN_PACE_KNOWN = 0.5  # ... x the team's cycle moved this share towards the deal's own pace
CRM_OPTIMISM_POINTS = 50  # CRM probability = stage default + (1 - optimism) x this, steps of 5,
CRM_NOISE_POINTS = 10.0  # ... + the deal's own noise (normal, this sd, steps of 5), within 1-99
# Forecast categories as reps set them (revops_demo.forecast_calls), for a deal dated in the
# current quarter, by stage counted back from the last open stage: the share of deals in
# Commit, and the next share in Best Case (the rest Pipeline). Deals dated later: Commit-worthy
# ones are Best Case, the rest Pipeline, until the kick-off review of their quarter.
COMMIT_SHARES = (1.0, 0.2)
BEST_CASE_SHARES = (0.0, 0.6, 1.0, 0.5, 0.5)
# Planned close dates: the share put on the quarter's last day, then on the month's last day
QUARTER_END_SNAP = 0.3
MONTH_END_SNAP = 0.35
CLOSE_ON_DATE_SHARE = 0.6  # won deals ready before their close date that sign on that date ...
CLOSE_ON_DATE_MAX_DAYS = 45  # ... when it is at most this many days after they were ready
LOST_LINGER = (1.2, 1.6)  # lost deals stay this much longer in their last stage (ICP, other)
OPENING_BOOK_SHARE = 0.08  # deals already in progress when the history starts (its first 2 weeks)
REPLAN_ON_PUSH = 0.7  # share of pushes dated at least as far out as the stage still needs
PERIOD_END_CATCH_UP = 0.2  # a missed date that is a month end is this much likelier caught (pushed)
NEGLECTED_SHARE = 0.6  # lost deals x (1.5 - rep diligence) given up on: a hopeful 5-25 days in the
# last stage, a date nobody moves once it passes
ATTAINMENT_RANGE = (0.52, 1.02)  # each rep's attainment of quota over the steady months
WON_ENGAGEMENT, LOST_ENGAGEMENT = 1.15, 0.9  # activity on deals that win vs deals that do not
# An open deal's next-step date, as shares (first open stage, last open stage) between
# which a deal's share follows its stage ("week" grows with the stage squared): overdue
# (1-29 days ago), today, in the coming week (1-7 days), later (8-28 days), undated. A deal
# closing within `closing_soon_days` has `closing_soon_week` more in the coming week.
NEXT_STEP_DATE_SHARES = {
    "overdue": (0.20, 0.12),
    "today": (0.02, 0.06),
    "week": (0.03, 0.30),
    "undated": 0.10,
    "closing_soon_days": 14,
    "closing_soon_week": 0.25,
}


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

# --- growth inputs (revops_demo.growth)
# marketing cost per new-business opportunity created, by channel (LEAD_SOURCES order):
# programs that make pipeline; outbound carries the SDR programme, referrals cost little
COST_PER_OPPORTUNITY = np.array([2600.0, 1900.0, 1500.0, 3400.0, 4200.0, 900.0, 6000.0])
ANNUAL_CHURN_RATE = 0.08  # share of customers lost per year
CONTRACTION_SHARE = 0.15  # subscriptions cut back once, to 50-85% of their amount
