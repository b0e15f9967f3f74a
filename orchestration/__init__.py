"""Dagster orchestration of the RevOps warehouse: ingestion, dbt, quality gate, publishing."""
