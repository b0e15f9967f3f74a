"""The dashboard's own settings, read from the environment once per page load.

| variable | default | what it does |
|---|---|---|
| `REVOPS_CRM_RECORD_URL` | none | the address of a deal in your CRM, with `{id}` where the opportunity id goes (`https://acme.my.salesforce.com/{id}`); the deal page links to it. Unset: no link. |
| `REVOPS_DASHBOARD_MIN_SAMPLE` | `5` | closed deals a rate needs before the Team Dashboard ranks or colours it |
| `REVOPS_SERVE_ENGINE` | `duckdb` | where the pages read the served marts: `duckdb` (the serving folder's `revops.duckdb`, REVOPS_SERVE_DIR) or `postgres` (schema REVOPS_PG_SERVED_SCHEMA, default `revops_served`, of the database of the dbt profile's REVOPS_PG_* settings), what the postgres target publishes to, or `spark` (the views of database REVOPS_SPARK_SERVED_DATABASE, default `revops_served`, in the metastore of REVOPS_SPARK_DIR), what the spark target publishes to |
| `REVOPS_SERVED_DAYS_KEPT` | `7` | published days whose marts the serving folder keeps (the publisher's setting); the as-of picker offers the days kept and says how many are |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote, urlparse

from revops.publish.files import DEFAULT_SERVED_DAYS_KEPT

ENV_CRM_RECORD_URL = "REVOPS_CRM_RECORD_URL"
ENV_MIN_SAMPLE = "REVOPS_DASHBOARD_MIN_SAMPLE"
DEFAULT_MIN_SAMPLE = 5
ENV_SERVED_DAYS_KEPT = "REVOPS_SERVED_DAYS_KEPT"
ENV_SERVE_ENGINE = "REVOPS_SERVE_ENGINE"
SERVE_ENGINES = ("duckdb", "postgres", "spark")


class DashboardSettingError(ValueError):
    """A dashboard setting that cannot be used; the message names the variable and what it expects."""


@dataclass(frozen=True)
class DashboardSettings:
    crm_record_url: str | None = None
    min_sample: int = DEFAULT_MIN_SAMPLE
    served_days_kept: int = DEFAULT_SERVED_DAYS_KEPT

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> DashboardSettings:
        env = os.environ if environ is None else environ
        url = (env.get(ENV_CRM_RECORD_URL) or "").strip() or None
        if url is not None:
            parsed = urlparse(url.replace("{id}", "ID"))
            if "{id}" not in url or parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise DashboardSettingError(
                    f"{ENV_CRM_RECORD_URL}={url!r}: expected an http(s) address with {{id}} where the "
                    "opportunity id goes, e.g. https://acme.my.salesforce.com/{id}"
                )
        raw = (env.get(ENV_MIN_SAMPLE) or "").strip()
        try:
            min_sample = int(raw) if raw else DEFAULT_MIN_SAMPLE
        except ValueError:
            min_sample = -1
        if min_sample < 1:
            raise DashboardSettingError(
                f"{ENV_MIN_SAMPLE}={raw!r}: expected a whole number of closed deals, 1 or more "
                f"(default {DEFAULT_MIN_SAMPLE})"
            )
        return cls(crm_record_url=url, min_sample=min_sample, served_days_kept=served_days_kept(env))

    def crm_link(self, opportunity_id: object) -> str | None:
        """The deal's CRM address, or None without REVOPS_CRM_RECORD_URL."""
        if self.crm_record_url is None:
            return None
        return self.crm_record_url.replace("{id}", quote(str(opportunity_id), safe=""))


def served_days_kept(environ: dict[str, str] | None = None) -> int:
    """REVOPS_SERVED_DAYS_KEPT: how many published days the serving folder keeps (1 or more)."""
    env = os.environ if environ is None else environ
    raw = (env.get(ENV_SERVED_DAYS_KEPT) or "").strip()
    try:
        days = int(raw) if raw else DEFAULT_SERVED_DAYS_KEPT
    except ValueError:
        days = 0
    if days < 1:
        raise DashboardSettingError(
            f"{ENV_SERVED_DAYS_KEPT}={raw!r}: expected a whole number of published days, 1 or more "
            f"(default {DEFAULT_SERVED_DAYS_KEPT})"
        )
    return days


def serve_engine(environ: dict[str, str] | None = None) -> str:
    """REVOPS_SERVE_ENGINE: where the served marts are read, `duckdb` (default), `postgres` or `spark`."""
    env = os.environ if environ is None else environ
    engine = (env.get(ENV_SERVE_ENGINE) or "").strip().lower() or "duckdb"
    if engine not in SERVE_ENGINES:
        raise DashboardSettingError(
            f"{ENV_SERVE_ENGINE}={engine!r}: expected one of {', '.join(SERVE_ENGINES)} (default duckdb)"
        )
    return engine
