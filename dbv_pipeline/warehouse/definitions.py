"""Dagster definitions of the warehouse (merged into the pipeline's definitions)."""

import dagster as dg

from .assets import dbt_resource, warehouse_assets
from .prepare import load_dbt_project

DBT_PROJECT = load_dbt_project()

defs = dg.Definitions(
    assets=[warehouse_assets(DBT_PROJECT)],
    resources={"dbt": dbt_resource(DBT_PROJECT)},
)
