"""The warehouse (DuckDB, or Spark: docs/warehouse.md): the dbt project (staging → intermediate → marts) and its Dagster assets."""
