"""A Fivetran Salesforce schema that lives in PostgreSQL (REVOPS_SOURCE_DATABASE=postgresql://...).

The same fixture tables as test_fivetran_salesforce.py, created in a real PostgreSQL server
started by the tests: the raw tables conformed from PostgreSQL equal those conformed from
the DuckDB file, row for row and type for type.
"""

from __future__ import annotations

import duckdb
import pytest
from postgres_server import create_database
from test_fivetran_salesforce import FIVETRAN_TABLES, HISTORY_MODE, LOADED_AT

from revops.crm_contract import CRM_OBJECTS
from revops.sources import SourceConfig, SourceError, ingest_source


def _postgres_sql(sql: str) -> str:
    return sql.replace(" double,", " double precision,").replace(" double\n", " double precision\n")


@pytest.fixture(scope="module")
def fivetran_in_postgres(postgres_server) -> str:
    import psycopg2

    create_database(postgres_server, "fivetran")
    with psycopg2.connect(postgres_server.dsn("fivetran")) as pg, pg.cursor() as cur:
        cur.execute("create schema salesforce")
        for sql in FIVETRAN_TABLES.values():
            cur.execute(_postgres_sql(sql))
        cur.execute(_postgres_sql(HISTORY_MODE))
    return f"postgresql://{postgres_server.user}@{postgres_server.host}:{postgres_server.port}/fivetran"


def _raw_tables(con) -> dict[str, tuple[list, list]]:
    tables = {}
    for name in CRM_OBJECTS:
        result = con.execute(f'select * exclude (_source_row, _loaded_at) from raw."{name}" order by all')
        tables[name] = ([(d[0], d[1]) for d in result.description], result.fetchall())
    tables["_source_coverage"] = (
        [],
        con.execute("select * from raw._source_coverage order by all").fetchall(),
    )
    return tables


def test_the_schema_in_postgres_conforms_like_the_duckdb_file(tmp_path, fivetran_in_postgres):

    duck_file = tmp_path / "fivetran.duckdb"
    with duckdb.connect(str(duck_file)) as con:
        con.execute("create schema salesforce")
        for sql in FIVETRAN_TABLES.values():
            con.execute(sql)
        con.execute(HISTORY_MODE)

    with duckdb.connect(str(tmp_path / "from_pg.duckdb")) as con:
        report = ingest_source(
            con, SourceConfig(kind="fivetran_salesforce", database=fivetran_in_postgres), loaded_at=LOADED_AT
        )
        from_postgres = _raw_tables(con)
    with duckdb.connect(str(tmp_path / "from_file.duckdb")) as con:
        ingest_source(con, SourceConfig(kind="fivetran_salesforce", database=duck_file), loaded_at=LOADED_AT)
        from_file = _raw_tables(con)

    assert from_postgres["opportunity"][1], "no opportunities came through"
    for name, expected in from_file.items():
        if name == "_source_coverage":
            # mapped_from names the same schema and tables
            assert from_postgres[name] == expected
            continue
        assert from_postgres[name][0] == expected[0], name
        assert from_postgres[name][1] == expected[1], name
    assert [load.row_count for load in report.loads if load.object_name == "opportunity_history"] == [4]


def test_an_unreachable_postgres_source_is_one_sentence_without_the_password(tmp_path, postgres_server):
    url = (
        f"postgresql://{postgres_server.user}:hunter2@{postgres_server.host}:{postgres_server.port}/nosuchdb"
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con, pytest.raises(SourceError) as info:
        ingest_source(con, SourceConfig(kind="fivetran_salesforce", database=url), loaded_at=LOADED_AT)
    message = str(info.value)
    assert "cannot read the source database" in message
    assert "nosuchdb" in message
    assert "hunter2" not in message
