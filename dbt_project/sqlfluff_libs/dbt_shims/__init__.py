"""What dbt puts in the Jinja context, for sqlfluff's jinja templater (see .sqlfluff).

sqlfluff lints the SQL a template renders to. Its `apply_dbt_builtins` covers `ref`,
`source`, `config`, `is_incremental` and `this`; everything else our models call is
here, rendered the way dbt-duckdb renders it, so the linted SQL is close to the SQL dbt
runs (and parses with the duckdb dialect) without dbt's slow, connected templater:

- `var`: the value in dbt_project.yml (real numbers and lists, so `-var(...)` and
  `{% for band in var(...) %}` work), else the default given, else the var's name;
- `adapter.dispatch`: the project macro `duckdb__<name>`, else `default__<name>`;
- `dbt.<macro>`: dbt-core's cross-database macros as plain function calls;
- `target`, `run_started_at`, `execute` (false: nothing runs queries), `exceptions`.

Every top-level name of this module becomes a Jinja global of the templater.
"""

import datetime as _datetime
import pathlib as _pathlib

import jinja2 as _jinja2
import yaml as _yaml

_PROJECT_FILE = _pathlib.Path(__file__).resolve().parents[2] / "dbt_project.yml"
_VARS = _yaml.safe_load(_PROJECT_FILE.read_text(encoding="utf-8")).get("vars", {}) or {}
_MISSING = object()


def var(name, default=_MISSING):
    value = _VARS.get(name, _MISSING)
    if value is _MISSING:
        return name if default is _MISSING else default
    return value


class _Target:
    type = "duckdb"
    name = "dev"
    schema = "main"
    database = "warehouse"
    profile_name = "revops_warehouse"
    threads = 1


target = _Target()
run_started_at = _datetime.datetime(2025, 1, 1, tzinfo=_datetime.UTC)
execute = False


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message):
        raise _jinja2.TemplateRuntimeError(message)

    @staticmethod
    def warn(message):
        return ""


exceptions = _Exceptions()


class _Adapter:
    @staticmethod
    @_jinja2.pass_context
    def dispatch(context, macro_name, macro_namespace=None):
        for prefix in ("duckdb__", "default__"):
            macro = context.get(prefix + macro_name)
            if macro is not None:
                return macro
        raise _jinja2.TemplateRuntimeError(f"no duckdb__ or default__ macro for {macro_name!r}")

    @staticmethod
    def quote(identifier):
        return f'"{identifier}"'


adapter = _Adapter()


def _call(function, *arguments):
    return f"{function}({', '.join(str(argument) for argument in arguments)})"


class _Dbt:
    """dbt-core's cross-database macros (the `dbt.` namespace)."""

    @staticmethod
    def type_string():
        return "varchar"

    @staticmethod
    def type_timestamp():
        return "timestamp"

    @staticmethod
    def type_boolean():
        return "boolean"

    @staticmethod
    def type_bigint():
        return "bigint"

    @staticmethod
    def type_int():
        return "integer"

    @staticmethod
    def type_float():
        return "float"

    @staticmethod
    def type_numeric():
        return "numeric(28, 6)"

    @staticmethod
    def dateadd(datepart, interval, from_date_or_timestamp):
        return _call("date_add", f"'{datepart}'", interval, from_date_or_timestamp)

    @staticmethod
    def datediff(first_date, second_date, datepart):
        return _call("date_diff", f"'{datepart}'", first_date, second_date)

    @staticmethod
    def date_trunc(datepart, date):
        return _call("date_trunc", f"'{datepart}'", date)

    @staticmethod
    def concat(fields):
        return _call("concat", *fields)

    @staticmethod
    def safe_cast(field, type):
        return f"try_cast({field} as {type})"

    @staticmethod
    def escape_single_quotes(expression):
        return str(expression).replace("'", "''")

    @staticmethod
    def date_spine(datepart, start_date, end_date):
        return (
            f"select cast(range as date) as date_{datepart}"
            f" from range({start_date}, {end_date}, interval 1 {datepart})"
        )

    @staticmethod
    def generate_series(upper_bound):
        return f"select generate_series as generated_number from generate_series(1, {upper_bound})"


dbt = _Dbt()
