"""All Dagster definitions: one folder per domain, each returning its own ``defs``.

ingest (landing → raw Parquet) → assurance (GX checks) → warehouse (dbt marts) → playbook.
"""

import os

import dagster as dg

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from .ingest import definitions as ingest  # noqa: E402

defs = dg.Definitions.merge(ingest.defs)
