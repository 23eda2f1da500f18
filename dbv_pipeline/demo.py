"""``dbv demo``: synthetic sample → every asset materialised with Dagster, in this process."""

from __future__ import annotations

import os
import time

import dagster as dg

from .ingest import files_by_la
from .ingest.assets import la_partitions
from .settings import DataPaths, PipelineSettings


def dagster_instance() -> dg.DagsterInstance:
    """The instance under $DAGSTER_HOME (so `dagster dev` shows the demo's runs), else a temporary one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_all(settings: PipelineSettings, instance: dg.DagsterInstance) -> None:
    """Ingest every LA in the landing folder as one run, then build the warehouse and playbook."""
    from .definitions import build_defs

    defs, paths = build_defs(settings), settings.paths
    la_codes = sorted(files_by_la(paths.landing))
    known = set(instance.get_dynamic_partitions(la_partitions.name))
    instance.add_dynamic_partitions(la_partitions.name, [la for la in la_codes if la not in known])
    partitions = instance.get_dynamic_partitions(la_partitions.name)
    ingest = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": partitions[0], "dagster/asset_partition_range_end": partitions[-1]},
    )
    if not ingest.success:
        raise RuntimeError("The ingest run failed; see the Dagster logs above")
    warehouse = defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance, raise_on_error=False)
    if not warehouse.success:
        raise RuntimeError("The warehouse run failed; see the Dagster logs above")


def run_demo(paths: DataPaths, *, multiplier: float, la_count: int | None) -> int:
    from .sample import generate_sample

    started = time.perf_counter()
    if not any(paths.landing.glob("*.*")):
        from .sample.las import load_las

        codes = [la.old_la_code for la in load_las()][:la_count] if la_count else None
        print(f"Generating the synthetic sample into {paths.landing} …")
        print(generate_sample(paths.landing, la_codes=codes, multiplier=multiplier))
    run_all(PipelineSettings.from_env(), dagster_instance())
    print(f"\nDone in {time.perf_counter() - started:.0f} s. Everything here is SYNTHETIC sample data.")
    print(f"  warehouse (DuckDB): {paths.warehouse}")
    print(f"  raw layer (Parquet): {paths.raw}")
    print(f"  reports:            {paths.reports}")
    print("Query it:  duckdb -readonly " + str(paths.warehouse) + "   or open the UI: make dev")
    return 0
