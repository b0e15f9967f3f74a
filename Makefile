# The verbs people use. Every target sets itself up first: a fresh machine with only
# Python needs nothing but `make run` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SPARK_STAMP := $(VENV)/.spark-installed-stamp
MANIFEST := dbt_project/target/manifest.json

export DAGSTER_HOME := $(CURDIR)
# dbt and the other tools of the virtual environment, for dagster-dbt's subprocesses
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export REVOPS_DAGSTER_STORAGE_DIR ?= $(CURDIR)/.dagster_home/storage
export REVOPS_DAGSTER_COMPUTE_LOGS_DIR ?= $(CURDIR)/.dagster_home/logs
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project

.PHONY: setup prepare run test test-fast test-spark lint docs dashboard dagster bench metrics clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@echo "==> creating the virtual environment and installing pinned dependencies"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

# pyspark (~470 MB) only for the tests and for running on Spark
$(SPARK_STAMP): $(STAMP)
	@echo "==> installing the Spark extra (dbt-spark session mode, pyspark)"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,spark]"
	@touch $@

prepare: setup
	@echo "==> preparing the dbt project (dbt deps, dbt parse -> $(MANIFEST))"
	@$(BIN)/python -m orchestration.dbt_project

## run: generate the demo CRM data (if the landing folder is empty), ingest, build, report
run: prepare
	$(BIN)/revops run --demo

## test: the whole test suite on real DuckDB files and real dbt runs (PostgreSQL and
## Spark too, when their server binaries / Java are installed); two files at a time
## (pytest-xdist, one file per worker; TEST_WORKERS=0 runs them one after another)
TEST_WORKERS ?= 2
test: prepare $(SPARK_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

## test-fast: the inner loop: everything but the PostgreSQL and Spark suites (marker `portability`)
test-fast: prepare
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not portability"

## test-spark: only the Spark portability tests (Java 17+ needed)
test-spark: prepare $(SPARK_STAMP)
	$(BIN)/python -m pytest tests/portability/test_spark.py

## lint: sqlfluff on the models and the singular dbt tests (rules in .sqlfluff); ruff (lint and
## format) on the Python; mypy on the core (revops/); the import contracts (lint-imports)
PY_PATHS := revops revops_app orchestration dashboard bench tests $(wildcard revops_demo)
lint: prepare
	$(BIN)/sqlfluff lint models dbt_project/tests
	$(BIN)/ruff check $(PY_PATHS)
	$(BIN)/ruff format --check $(PY_PATHS)
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: the pipeline benchmark at tiers S (5k deals) and M (100k); TIERS="L" for 1M deals
TIERS ?= S M
bench: prepare
	$(BIN)/python -m bench.run_bench --tiers $(TIERS)

## dagster: the Dagster UI on http://127.0.0.1:3000
dagster: prepare
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

## docs: generate the dbt docs and serve them on http://127.0.0.1:8080
docs: prepare
	$(BIN)/revops docs

## metrics: the headline numbers from the metric layer (models/semantic/), `mf query` on the
## working warehouse (REVOPS_WAREHOUSE_PATH, default data/warehouse/build.duckdb; `make run` first)
METRIC_QUERIES ?= pipeline_headlines performance_headlines open_pipeline_headlines health_headlines
metrics: prepare
	@cd dbt_project && for query in $(METRIC_QUERIES); do \
		echo "==> mf query --saved-query $$query"; \
		$(CURDIR)/$(BIN)/mf query --saved-query $$query --quiet || exit 1; \
	done

## dashboard: the dashboard on http://127.0.0.1:8501, reading the published marts
dashboard: prepare
	$(BIN)/revops dashboard

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/dbt_packages dbt_project/logs
