"""Run settings: where the landing files are, where the warehouse lives, which day to describe.

Every setting comes from an environment variable with a default that runs the demo
from the repository root; command-line flags override them. Nothing is read at import
time: call `Settings.from_env(os.environ)` when a run starts. This module is the only
place in the core that knows the variables' names: everything else takes a `Settings`
value (or a part of it, such as the gate's thresholds in `Settings.gate`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revops.paths import PROJECT_ROOT
from revops.publish.files import DEFAULT_SERVED_DAYS_KEPT
from revops.quality.settings import GateSettings

if TYPE_CHECKING:
    from revops.sources import SourceConfig

ENV_LANDING_DIR = "REVOPS_LANDING_DIR"
ENV_WAREHOUSE_PATH = "REVOPS_WAREHOUSE_PATH"
ENV_AS_OF_DATE = "REVOPS_AS_OF_DATE"
ENV_RAW_SCHEMA = "REVOPS_RAW_SCHEMA"
ENV_SERVE_DIR = "REVOPS_SERVE_DIR"
ENV_SOURCE = "REVOPS_SOURCE"
ENV_SOURCE_DATABASE = "REVOPS_SOURCE_DATABASE"
ENV_SOURCE_SCHEMA = "REVOPS_SOURCE_SCHEMA"
ENV_SOURCE_HISTORY_SCHEMA = "REVOPS_SOURCE_HISTORY_SCHEMA"
ENV_SOURCE_MAPPING = "REVOPS_SOURCE_MAPPING"
ENV_BASELINE_LOADS = "REVOPS_GATE_BASELINE_LOADS"
ENV_SERVED_DAYS_KEPT = "REVOPS_SERVED_DAYS_KEPT"
ENV_DBT_UNIT_TESTS = "REVOPS_DBT_UNIT_TESTS"
ENV_ALERT_WEBHOOK_URL = "REVOPS_ALERT_WEBHOOK_URL"
ENV_SCHEDULE_CRON = "REVOPS_SCHEDULE_CRON"
ENV_SCHEDULE_TIMEZONE = "REVOPS_SCHEDULE_TIMEZONE"
ENV_DBT_VARS = "REVOPS_DBT_VARS"
ENV_PG_SERVED_SCHEMA = "REVOPS_PG_SERVED_SCHEMA"
ENV_PG_PUBLISH_LOCK_TIMEOUT = "REVOPS_PG_PUBLISH_LOCK_TIMEOUT_SECONDS"
DEFAULT_PG_SERVED_SCHEMA = "revops_served"  # = revops.publish.postgres.DEFAULT_SERVED_SCHEMA
DEFAULT_PG_PUBLISH_LOCK_TIMEOUT = 60
ENV_SPARK_SERVED_DATABASE = "REVOPS_SPARK_SERVED_DATABASE"
DEFAULT_SPARK_SERVED_DATABASE = "revops_served"  # = revops.publish.spark_served.DEFAULT_SERVED_DATABASE
# dbt vars the run sets itself: a REVOPS_DBT_VARS that names one is refused
RUN_DBT_VARS = ("as_of_date", "raw_schema", "deal_custom_fields")
DEFAULT_SCHEDULE_CRON = "0 6 * * *"  # every morning before the working day
DEFAULT_SCHEDULE_TIMEZONE = "UTC"
DEFAULT_BASELINE_LOADS = 5


class SettingsError(ValueError):
    """A setting has a value the warehouse cannot use."""


def parse_as_of_date(value: str | None) -> dt.date | None:
    """`YYYY-MM-DD`, or None/empty for today (UTC)."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise SettingsError(f"as_of_date must be a date written YYYY-MM-DD (got {value!r})") from None


def database_setting(value: str | None) -> Path | str | None:
    """A source database setting: a postgresql:// URL as it is, else a DuckDB file path."""
    if not value or not value.strip():
        return None
    value = value.strip()
    return value if value.startswith(("postgresql://", "postgres://")) else Path(value)


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_path: Path
    as_of_date: dt.date | None = None  # None: today, in UTC, when the run starts
    raw_schema: str = "raw"
    # where BI reads the published marts: revops.duckdb (opened read-only) and parquet/
    serve_dir: Path = PROJECT_ROOT / "data" / "serve"
    # where the CRM data comes from (revops.sources): salesforce_files reads landing_dir;
    # fivetran_salesforce and hubspot read source_schema of the DuckDB file source_database
    source: str = "salesforce_files"
    source_database: Path | str | None = None  # a DuckDB file, or a postgresql:// URL
    source_schema: str | None = None
    source_history_schema: str = "salesforce_history"
    source_mapping: Path | None = None  # None: mappings/<source>.yml
    # the row-count baseline of a raw table: the largest of its last N good loads
    baseline_loads: int = DEFAULT_BASELINE_LOADS
    # published days whose marts the serving folder keeps (the dashboard's as-of picker)
    served_days_kept: int = DEFAULT_SERVED_DAYS_KEPT
    # dbt unit tests check the models' logic on hand-written rows, not the data: `make test`
    # and CI run them; a scheduled build runs them only when this is set
    dbt_unit_tests: bool = False
    # the quality gate's thresholds (REVOPS_GATE_*; see revops.quality.settings)
    gate: GateSettings = field(default_factory=GateSettings)
    # Slack incoming webhook for alerts and the digest; empty: alerts are recorded only
    alert_webhook_url: str = ""
    # the daily build (Dagster schedule): cron and its time zone
    schedule_cron: str = DEFAULT_SCHEDULE_CRON
    schedule_timezone: str = DEFAULT_SCHEDULE_TIMEZONE
    # the model settings of this run (dbt vars over dbt_project.yml's, e.g. risk weights):
    # dbt builds with them and the mart gate's bounds follow them
    dbt_vars: Mapping[str, Any] = field(default_factory=dict)
    # on the postgres target: the schema BI reads the published marts from, and how long a
    # publish waits for readers' open transactions before it gives up (nothing published)
    pg_served_schema: str = DEFAULT_PG_SERVED_SCHEMA
    pg_publish_lock_timeout_seconds: int = DEFAULT_PG_PUBLISH_LOCK_TIMEOUT
    # on the spark target: the database of views BI reads the published marts from
    spark_served_database: str = DEFAULT_SPARK_SERVED_DATABASE

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            landing_dir=Path(env.get(ENV_LANDING_DIR) or PROJECT_ROOT / "data" / "landing"),
            warehouse_path=Path(
                env.get(ENV_WAREHOUSE_PATH) or PROJECT_ROOT / "data" / "warehouse" / "build.duckdb"
            ),
            as_of_date=parse_as_of_date(env.get(ENV_AS_OF_DATE)),
            raw_schema=env.get(ENV_RAW_SCHEMA) or "raw",
            serve_dir=Path(env.get(ENV_SERVE_DIR) or PROJECT_ROOT / "data" / "serve"),
            source=(env.get(ENV_SOURCE) or "salesforce_files").strip(),
            source_database=database_setting(env.get(ENV_SOURCE_DATABASE)),
            source_schema=env.get(ENV_SOURCE_SCHEMA) or None,
            source_history_schema=env.get(ENV_SOURCE_HISTORY_SCHEMA) or "salesforce_history",
            source_mapping=Path(env[ENV_SOURCE_MAPPING]) if env.get(ENV_SOURCE_MAPPING) else None,
            baseline_loads=_positive_int(env, ENV_BASELINE_LOADS, DEFAULT_BASELINE_LOADS),
            served_days_kept=_positive_int(env, ENV_SERVED_DAYS_KEPT, DEFAULT_SERVED_DAYS_KEPT),
            dbt_unit_tests=(env.get(ENV_DBT_UNIT_TESTS) or "").strip().lower() in ("1", "true", "yes"),
            gate=GateSettings.from_env(env),
            alert_webhook_url=(env.get(ENV_ALERT_WEBHOOK_URL) or "").strip(),
            schedule_cron=(env.get(ENV_SCHEDULE_CRON) or "").strip() or DEFAULT_SCHEDULE_CRON,
            schedule_timezone=(env.get(ENV_SCHEDULE_TIMEZONE) or "").strip() or DEFAULT_SCHEDULE_TIMEZONE,
            dbt_vars=parse_dbt_vars(env.get(ENV_DBT_VARS)),
            pg_served_schema=(env.get(ENV_PG_SERVED_SCHEMA) or "").strip() or DEFAULT_PG_SERVED_SCHEMA,
            pg_publish_lock_timeout_seconds=_positive_int(
                env, ENV_PG_PUBLISH_LOCK_TIMEOUT, DEFAULT_PG_PUBLISH_LOCK_TIMEOUT
            ),
            spark_served_database=(env.get(ENV_SPARK_SERVED_DATABASE) or "").strip()
            or DEFAULT_SPARK_SERVED_DATABASE,
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def source_config(self) -> SourceConfig:
        """Where the CRM data is (a `revops.sources.SourceConfig`); SettingsError when the
        source setting names no known kind."""
        from revops.sources import SourceConfig, SourceError

        try:
            return SourceConfig(
                kind=self.source,
                landing_dir=self.landing_dir,
                database=self.source_database,
                schema=self.source_schema,
                history_schema=self.source_history_schema,
                mapping_path=self.source_mapping,
            )
        except SourceError as exc:
            raise SettingsError(f"{ENV_SOURCE}: {exc}") from None

    def source_key(self) -> str:
        """What the raw data came from, keying its row-count baseline: `<kind>:<location>`
        (the landing folder, or the connector's database and schema)."""
        return self.source_config().key

    def state_path(self) -> Path:
        """The build's state file beside the working warehouse (see `revops.state`)."""
        from revops.state import state_path_for

        return state_path_for(self.warehouse_path)

    def resolved_as_of_date(self) -> dt.date:
        """as_of_date, or today in UTC. A run fixes it once (`for_run`) so that every step
        describes the same day, even a run that crosses midnight."""
        return self.as_of_date or dt.datetime.now(dt.UTC).date()

    def for_run(self) -> Settings:
        """These settings with as_of_date fixed: what one run passes to every step."""
        return replace(self, as_of_date=self.resolved_as_of_date())


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SettingsError(f"{name} must be a whole number of 1 or more (got {value!r})")
    return number


def parse_dbt_vars(value: str | None) -> dict[str, Any]:
    """REVOPS_DBT_VARS: a YAML (or JSON) mapping of dbt vars, as `dbt --vars` takes it,
    e.g. `{risk_stage_time_weight: 30, calibration_k: 20}`."""
    import yaml

    if not value or not value.strip():
        return {}
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise SettingsError(
            f"{ENV_DBT_VARS} is not YAML ({error}); expected e.g. '{{calibration_k: 20}}'"
        ) from None
    if not isinstance(parsed, dict) or not all(isinstance(k, str) for k in parsed):
        raise SettingsError(
            f"{ENV_DBT_VARS} must be a mapping of var names to values, e.g. '{{calibration_k: 20}}'"
        )
    fixed = sorted(set(parsed) & set(RUN_DBT_VARS))
    if fixed:
        raise SettingsError(
            f"{ENV_DBT_VARS} sets {', '.join(fixed)}, which the run sets itself "
            "(use --as-of / REVOPS_AS_OF_DATE, REVOPS_RAW_SCHEMA or the mapping file)"
        )
    return parsed
