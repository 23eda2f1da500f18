"""All Dagster definitions: one folder per domain, each returning its own ``defs``.

ingest (landing → raw Parquet) → assurance (GX checks, feedback) → warehouse (dbt marts) → playbook.
"""

import os

import dagster as dg

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from .assurance import definitions as assurance  # noqa: E402
from .assurance.assets import feedback_reports  # noqa: E402
from .ingest import definitions as ingest  # noqa: E402
from .ingest.assets import raw_returns  # noqa: E402
from .public import definitions as public  # noqa: E402
from .warehouse import definitions as warehouse  # noqa: E402

# Per LA (dynamic partitions): the raw layer, its blocking GX checks, the LA's feedback reports.
per_la = dg.AssetSelection.assets(raw_returns, feedback_reports)
ingest_job = dg.define_asset_job("ingest_job", selection=per_la)
# Everything downstream, unpartitioned: public data, dbt marts (one writer), playbook.
warehouse_job = dg.define_asset_job("warehouse_job", selection=dg.AssetSelection.all() - per_la)
nightly_warehouse = dg.ScheduleDefinition(job=warehouse_job, cron_schedule="0 2 * * *", execution_timezone="Europe/London")

defs = dg.Definitions.merge(
    ingest.defs,
    assurance.defs,
    public.defs,
    warehouse.defs,
    dg.Definitions(jobs=[ingest_job, warehouse_job], schedules=[nightly_warehouse]),
)
