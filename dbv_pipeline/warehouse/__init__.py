"""The DuckDB warehouse: the dbt project (staging → intermediate → marts) and its Dagster assets."""
