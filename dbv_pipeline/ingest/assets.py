"""Dagster assets, job and sensor for the ingest: one dynamic partition per LA."""

import functools

import dagster as dg

from ..contract import TABLES
from ..settings import PipelineSettings
from .filenames import la_of
from .process import already_ingested, files_by_la, ingest_las, landing_files
from .raw_store import RawStore

la_partitions = dg.DynamicPartitionsDefinition(name="la_code")
RAW_KEYS = {name: dg.AssetKey(["raw", name]) for name in [*TABLES, "submissions", "findings"]}
RAW_DESCRIPTIONS = {
    **{name: f"Raw layer: {t.description}; typed Parquet per accepted version, with lineage." for name, t in TABLES.items()},
    "submissions": "Raw layer: the version ledger, one row per (file, table) event.",
    "findings": "Raw layer: every rejected file, rejected row and warning, with line, column and reason.",
}
BULK_RUN_THRESHOLD = 10  # more changed LAs than this → one run over every partition
LOG_EACH_FILE_UP_TO = 20  # a bigger run logs its rejected files and totals (each file: the ledger, the reports)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(key, description=RAW_DESCRIPTIONS[name], group_name="ingest", kinds={"parquet"}, skippable=True)
        for name, key in RAW_KEYS.items()
    ],
    partitions_def=la_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
)
def raw_returns(context: dg.AssetExecutionContext, settings: PipelineSettings):
    """Ingest each LA's new or changed landing files into the raw layer (spec §1 version rules).
    A run that finds nothing new materialises nothing, so nothing downstream reruns."""
    paths = settings.paths
    by_la = files_by_la(paths.landing)
    summary = ingest_las(paths, {la: by_la.get(la, []) for la in context.partition_keys})
    per_table = {name: 0 for name in TABLES}
    for outcome in summary.files:
        for event in outcome.events:
            if event["table_name"] in per_table:
                per_table[event["table_name"]] += event["rows_loaded"]
        if len(summary.files) <= LOG_EACH_FILE_UP_TO or outcome.outcome == "rejected":
            context.log.info(f"{outcome.source_file}: {outcome.outcome}, rows in {outcome.rows_in} = "
                             f"loaded {outcome.rows_loaded} + rejected {outcome.rows_rejected}")
    totals = {
        "files": len(summary.files), "skipped": summary.skipped, "files_rejected": summary.count("rejected"),
        "rows_in": sum(f.rows_in for f in summary.files), "rows_loaded": sum(f.rows_loaded for f in summary.files),
        "rows_rejected": sum(f.rows_rejected for f in summary.files),
    }
    context.log.info(f"{totals['files']} files ingested ({totals['files_rejected']} rejected), {totals['skipped']} unchanged "
                     f"skipped; rows in {totals['rows_in']} = loaded {totals['rows_loaded']} + rejected {totals['rows_rejected']}")
    if not summary.files:
        context.log.info(f"Nothing new in the landing folder ({summary.skipped} files already ingested)")
        return  # no materialisation: nothing downstream is refreshed for a no-change run
    for name, key in RAW_KEYS.items():
        rows = per_table.get(name)
        yield dg.MaterializeResult(asset_key=key, metadata={**totals, **({"rows_loaded_table": rows} if rows is not None else {})})


# Per LA: the raw layer, its blocking GX checks, and what else works per LA (the feedback reports).
PER_LA = dg.AssetSelection.assets(raw_returns).downstream() & dg.AssetSelection.groups("ingest", "assurance")
ingest_job = dg.define_asset_job("ingest_job", selection=PER_LA)


@dg.sensor(
    job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 30 s: ingest the LAs with new or changed files in the landing folder (one run per LA, "
                "one run over all LAs for a bulk drop). On its first tick, files the ledger already holds are not new.",
)
def landing_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings):
    """Notice new or changed files in the landing folder and ingest their LAs' partitions."""
    paths = settings.paths
    seen = dg.deserialize_value(context.cursor, dict) if context.cursor else None
    ledger_of = functools.cache(RawStore(paths).ledger)
    current, changed = {}, set()
    for path in landing_files(paths.landing):
        stat = path.stat()
        signature = f"{stat.st_mtime_ns}:{stat.st_size}"
        current[str(path)] = signature
        if seen is None:  # first tick (a new deployment, or after `make demo`): the ledger is the baseline
            is_new = not already_ingested(paths, path, ledger_of(la_of(path)))
        else:
            is_new = seen.get(str(path)) != signature
        if is_new:
            changed.add(la_of(path))
    if not changed:
        return dg.SensorResult(skip_reason="No new or changed files in the landing folder", cursor=dg.serialize_value(current))
    known = set(context.instance.get_dynamic_partitions(la_partitions.name))
    new = sorted(changed - known)
    partitions = context.instance.get_dynamic_partitions(la_partitions.name) + new
    if len(changed) > BULK_RUN_THRESHOLD:
        run_requests = [dg.RunRequest(tags={
            "dagster/asset_partition_range_start": partitions[0],
            "dagster/asset_partition_range_end": partitions[-1],
        })]
    else:
        run_requests = [dg.RunRequest(partition_key=la) for la in sorted(changed)]
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[la_partitions.build_add_request(new)] if new else [],
        cursor=dg.serialize_value(current),
    )
