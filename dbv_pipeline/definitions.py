"""All Dagster definitions: one folder per domain, each returning its own ``defs``.

ingest (landing → raw Parquet) → assurance (GX checks, feedback) → warehouse (dbt marts) → playbook.
Loading them writes nothing and runs no dbt (``make setup`` prepares the dbt manifest). Settings come
from the ``settings`` resource, bound to the environment (``dbv_pipeline.settings``).
"""

import os

import dagster as dg

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# A run over many LA partitions (the landing sensor's bulk run, a backfill) records one "planned"
# event per asset instead of one per asset and LA: 6 events instead of 918 for all 153 LAs, about 8 s
# of SQLite writes. Dagster's trade-off (PR 29288): if such a run fails, its LAs show as missing
# rather than failed in the UI (the run itself shows failed). Set where runs are created: here for
# in-process runs, and in the Makefile and deploy/ for the daemon.
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")

from .assurance import definitions as assurance  # noqa: E402
from .automation import automation_sensor  # noqa: E402
from .ingest import definitions as ingest  # noqa: E402
from .ingest.assets import PER_LA  # noqa: E402
from .playbook import definitions as playbook  # noqa: E402
from .public import definitions as public  # noqa: E402
from .settings import PipelineSettings, settings_from_environment  # noqa: E402
from .warehouse import definitions as warehouse  # noqa: E402

# Everything after the per-LA ingest job, unpartitioned: public data, dbt marts (one writer), playbook.
# Runs are event-driven (dbv_pipeline/automation.py), so a day with nothing new runs nothing. This
# job is the manual full rebuild (the demo runs it).
warehouse_job = dg.define_asset_job("warehouse_job", selection=dg.AssetSelection.all() - PER_LA)


def build_defs(settings: PipelineSettings) -> dg.Definitions:
    """The pipeline's definitions with these settings (tests pass their own)."""
    return dg.Definitions.merge(
        ingest.defs,
        assurance.defs,
        public.defs,
        warehouse.defs,
        playbook.defs,
        # Every run executes its steps one after another in the run's own process: a step in a process
        # of its own (the multiprocess default) would load these definitions again, about 5 s a step.
        # The parallel work is inside steps (the ingest's worker pool, DuckDB, dbt's threads).
        dg.Definitions(
            jobs=[warehouse_job],
            sensors=[automation_sensor],
            executor=dg.in_process_executor,
            resources={"settings": settings},
        ),
    )


defs = build_defs(settings_from_environment())
