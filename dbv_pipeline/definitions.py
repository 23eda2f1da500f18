"""All Dagster definitions: one folder per domain, each returning its own ``defs``.

ingest (landing → raw Parquet) → assurance (GX checks, feedback) → warehouse (dbt marts) → playbook.
"""

import os

import dagster as dg

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from .assurance import definitions as assurance  # noqa: E402
from .ingest import definitions as ingest  # noqa: E402
from .ingest.assets import PER_LA  # noqa: E402
from .playbook import definitions as playbook  # noqa: E402
from .public import definitions as public  # noqa: E402
from .warehouse import definitions as warehouse  # noqa: E402

# Everything after the per-LA ingest job, unpartitioned: public data, dbt marts (one writer), playbook.
warehouse_job = dg.define_asset_job("warehouse_job", selection=dg.AssetSelection.all() - PER_LA)
nightly_warehouse = dg.ScheduleDefinition(job=warehouse_job, cron_schedule="0 2 * * *", execution_timezone="Europe/London")

defs = dg.Definitions.merge(
    ingest.defs,
    assurance.defs,
    public.defs,
    warehouse.defs,
    playbook.defs,
    dg.Definitions(jobs=[warehouse_job], schedules=[nightly_warehouse]),
)
