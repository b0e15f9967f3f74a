"""What every page shares: loading its data from the served file, empty states, rep names.

A page declares the tables it reads and a `fetch(db) -> {name: DataFrame}` function;
`load` opens the served file read-only, checks the tables, runs `fetch` and closes the
file before the page draws anything. Results are cached on the file's stamp (inode,
mtime, size): a widget click re-draws from memory, and the first load after a publish
reads the new file.

The day shown: the as-of picker (`dashboard/as_of.py`) leaves the chosen past day in the
session under DAY_KEY; `load` then reads that day's kept Parquet copy instead of the served
file's marts (`served.open_served(path, version)`), so every page follows the picker.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd
import streamlit as st

from dashboard import formatting as fmt
from dashboard import served, url_state

Frames = dict[str, pd.DataFrame]
Fetch = Callable[[served.ServedWarehouse], Frames]

ALL_TEAMS = "All teams"
ALL_REPS = "All reps"
STATUS_COLORS = {"green": "green", "yellow": "orange", "red": "red", "info": "gray", "unknown": "gray"}
RISK_LEVEL_COLORS = {"low": "#2e9d5b", "medium": "#f0a30a", "high": "#d64541"}
DAY_KEY = "served_day"  # the past KeptDay the as-of picker chose; None: the latest marts


@st.cache_data(max_entries=64, show_spinner=False)
def _load_cached(
    key: str,
    path: str,
    stamp: served.FileStamp,
    tables: tuple[str, ...],
    version: str | None,
    _fetch: Fetch,
) -> Frames:
    with served.open_served(Path(path), version) as db:
        if db is None:  # replaced by nothing between the stamp and the open: not cached
            raise FileNotFoundError(path)
        db.require(*tables)
        return _fetch(db)


def shown_day():
    """The past day (a `revops.publish.served.KeptDay`) the pages show, or None for the latest."""
    return st.session_state.get(DAY_KEY)


def load(fetch: Fetch, tables: Sequence[str], cache_key: str = "") -> Frames | None:
    """The page's frames, or None after drawing the empty state that says why.

    `cache_key` tells apart the results of one fetch function made for different values (a
    closure over a deal's id); the function's name alone names the rest.
    """
    path = served.served_path()
    stamp = served.file_stamp(path)
    if stamp is None:
        no_warehouse(path)
        return None
    key = f"{fetch.__module__}.{fetch.__qualname__}:{cache_key}"
    day = shown_day()
    version = day.parquet_version if day is not None else None
    try:
        return _load_cached(key, str(path), stamp, tuple(tables), version, fetch)
    except FileNotFoundError:
        no_warehouse(path)
    except served.DayNotKeptError:
        st.warning(
            f"The marts of {fmt.weekday_date(day.as_of_date)} are no longer kept (a publish since pruned "
            "them): pick another day under **As of** in the sidebar.",
            icon=":material/event_busy:",
        )
    except served.MissingMartsError as error:
        if day is not None:
            st.info(
                f"The marts kept for {fmt.weekday_date(day.as_of_date)} have no "
                f"{', '.join(f'`{t}`' for t in error.missing)}: they were published before this page "
                "read them. Pick a later day under **As of** in the sidebar.",
                icon=":material/hourglass_empty:",
            )
            return None
        st.info(
            f"The served warehouse has no {', '.join(f'`{t}`' for t in error.missing)} yet: "
            "nothing was published since the marts were added, or every run so far failed "
            "(see **Data health**). Run `make run` to publish them.",
            icon=":material/hourglass_empty:",
        )
    except served.ServedFileError as error:
        st.warning(f"The served warehouse cannot be read: {md(error)}", icon=":material/warning:")
    except duckdb.Error as error:
        if day is None:
            raise
        st.warning(  # an older day's marts without a column this page reads now, or a file pruned mid-read
            f"The marts kept for {fmt.weekday_date(day.as_of_date)} cannot be shown on this page "
            f"({md(type(error).__name__)}: {md(str(error).splitlines()[0])}): pick a later day under "
            "**As of** in the sidebar.",
            icon=":material/warning:",
        )
    return None


def no_warehouse(path: Path) -> None:
    st.info(
        f"No published warehouse yet — run `make run`.\n\n"
        f"The dashboard reads {code(path)} (set `REVOPS_SERVE_DIR` to read another folder); "
        "it appears after the first build whose checks all pass.",
        icon=":material/database_off:",
    )


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>#|$~:])")


def md(text: object) -> str:
    """Text (a deal name, a reason, a money amount) made literal for st.markdown.

    Streamlit's Markdown reads `$...$` as LaTeX and `:name:` as an icon, so two money
    amounts on a line would render as a formula without this.
    """
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def code(text: object) -> str:
    """Text shown as inline code: literal already inside backticks, so only backticks go."""
    return "`" + str(text).replace("`", "'") + "`"


def empty(message: str) -> None:
    """An empty panel that says why it is empty."""
    st.info(message, icon=":material/info:")


def page_header(title: str, question: str, as_of: object = None) -> None:
    st.title(title)
    caption = question
    if as_of is not None and not fmt.is_missing(as_of):
        caption += f" · as of **{fmt.weekday_date(as_of)}**"
    st.caption(caption)


# --------------------------------------------------------------------------- reps and teams


def rep_names(reps: pd.DataFrame) -> dict[str, str]:
    return dict(zip(reps["owner_id"], reps["name"]))


def name_of(names: dict[str, str], owner_id: object) -> str:
    if fmt.is_missing(owner_id):
        return "Unassigned"
    return names.get(owner_id, str(owner_id))


def with_rep_names(frame: pd.DataFrame, reps: pd.DataFrame, column: str = "rep") -> pd.DataFrame:
    names = rep_names(reps)
    out = frame.copy()
    out[column] = [name_of(names, owner_id) for owner_id in out["owner_id"]]
    return out


def team_and_rep_filter(
    reps: pd.DataFrame, owner_ids: Sequence[str], *, key: str
) -> tuple[str | None, str | None]:
    """Two selectboxes: a team (or all) and one of its reps (or all) among `owner_ids`.

    Both start from the address (`?team=`, `?rep=`; a rep alone picks the rep's team) and
    are written back to it, so the view can be shared.
    """
    known = reps[reps["owner_id"].isin(list(owner_ids))]
    teams = sorted(t for t in known["team"].dropna().unique())
    first_visit = f"{key}_visited" not in st.session_state  # the address is read on arrival only
    st.session_state[f"{key}_visited"] = True
    wanted_rep = url_state.wanted("rep")
    if url_state.wanted("team") is None and wanted_rep in set(known["owner_id"]):
        st.query_params["team"] = str(known.loc[known["owner_id"] == wanted_rep, "team"].iloc[0])
    left, right = st.columns(2)
    team_options = [ALL_TEAMS, *teams]
    if url_state.initial(f"{key}_team", "team", team_options) and first_visit:
        unknown_filter("team", "Team")
    team = left.selectbox("Team", team_options, key=f"{key}_team")
    candidates = known if team == ALL_TEAMS else known[known["team"] == team]
    candidates = candidates.sort_values("name")
    options = [ALL_REPS, *candidates["owner_id"]]
    names = rep_names(reps)
    if url_state.initial(f"{key}_owner_{team}", "rep", options) and first_visit:
        unknown_filter("rep", "Rep")
    owner = right.selectbox(
        "Rep",
        options,
        key=f"{key}_owner_{team}",
        format_func=lambda value: value if value == ALL_REPS else name_of(names, value),
    )
    team, owner = (None if team == ALL_TEAMS else team), (None if owner == ALL_REPS else owner)
    url_state.keep(team=team, rep=owner)
    return team, owner


def unknown_filter(param: str, label: str) -> None:
    """The address named a value the page does not have: say so, never pick another silently."""
    st.warning(
        f"No {label.lower()} {code(url_state.wanted(param))} here (the address's `?{param}=`): "
        f"showing every {label.lower()} instead.",
        icon=":material/filter_alt_off:",
    )


def scope_picker(
    reps: pd.DataFrame, owner_ids: Sequence[str], teams: Sequence[str], *, key: str
) -> tuple[str, str | None, str]:
    """Company, a team or a rep: returns (rollup_level, team or owner_id, label).

    Starts from the address (`?rep=` shows that rep, `?team=` that team) and writes back to it.
    """
    names = rep_names(reps)
    known = reps[reps["owner_id"].isin(list(owner_ids))].sort_values("name")
    team_options = sorted(t for t in teams if not fmt.is_missing(t))
    levels = ["Company", "Team", "Rep"]
    if f"{key}_level" not in st.session_state:
        if url_state.wanted("rep") in set(known["owner_id"]):
            st.session_state[f"{key}_level"] = "Rep"
        elif url_state.wanted("team") in team_options:
            st.session_state[f"{key}_level"] = "Team"
    level = st.radio("Show", levels, horizontal=True, key=f"{key}_level")
    if level == "Team":
        if not team_options:
            url_state.keep(team=None, rep=None)
            return "team", None, "no team"
        url_state.initial(f"{key}_team", "team", team_options)
        team = st.selectbox("Team", team_options, key=f"{key}_team")
        url_state.keep(team=team, rep=None)
        return "team", team, team
    if level == "Rep":
        if known.empty:
            url_state.keep(team=None, rep=None)
            return "owner", None, "no rep"
        url_state.initial(f"{key}_owner", "rep", list(known["owner_id"]))
        owner = st.selectbox(
            "Rep", list(known["owner_id"]), key=f"{key}_owner", format_func=lambda o: name_of(names, o)
        )
        url_state.keep(team=None, rep=owner)
        return "owner", owner, name_of(names, owner)
    url_state.keep(team=None, rep=None)
    return "company", None, "the company"


def rows_for_scope(frame: pd.DataFrame, level: str, value: str | None) -> pd.DataFrame:
    rows = frame[frame["rollup_level"] == level]
    if level == "team":
        rows = rows[rows["team"] == value]
    elif level == "owner":
        rows = rows[rows["owner_id"] == value]
    return rows


# --------------------------------------------------------------------------- charts


HEALTH_BANDS_SQL = (
    "select metric, healthy_min, healthy_max from marts.revops_health where rollup_level = 'company'"
)


def fetch_bands(db: served.ServedWarehouse) -> pd.DataFrame:
    """The company's healthy band of every revops_health metric: the goals a page draws."""
    return db.frame(HEALTH_BANDS_SQL)


def band(bands: pd.DataFrame, metric: str) -> tuple[float | None, float | None]:
    """(healthy_min, healthy_max) of `metric` as revops_health was built with them, None where open.

    The goals are dbt vars (`next_step_share_healthy_min`, `icp_share_healthy_min`,
    `coverage_healthy_min`/`_max`, `forecast_variance_healthy_rate`): a page reads them from
    the mart, so `--vars '{icp_share_healthy_min: 0.8}'` moves the dashboard's goal line too.
    (None, None) when the mart has no row for the metric: the page then draws no goal.
    """
    if "rollup_level" in bands:  # the whole revops_health mart: its company rows
        bands = bands[bands["rollup_level"] == "company"]
    rows = bands[bands["metric"] == metric]
    if rows.empty:
        return None, None
    row = rows.iloc[0]
    low, high = row["healthy_min"], row["healthy_max"]
    return (None if fmt.is_missing(low) else float(low), None if fmt.is_missing(high) else float(high))


def money_axis(title: str | None = None) -> alt.Axis:
    """$5M, $250k, $0 on an axis (d3's SI prefixes; G for billions is written B)."""
    return alt.Axis(
        title=title,
        labelExpr="datum.value == 0 ? '$0' : replace(format(datum.value, '$~s'), 'G', 'B')",
    )


def share_axis(title: str | None = None) -> alt.Axis:
    return alt.Axis(format=".0%", title=title)


def chart(spec: alt.TopLevelMixin) -> None:
    st.altair_chart(spec, width="stretch")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
