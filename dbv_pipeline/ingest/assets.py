"""Dagster assets, job and sensor for the ingest: one dynamic partition per LA."""

import functools

import dagster as dg

from ..contract import TABLES
from ..settings import PipelineSettings
from .filenames import la_of, shown_name
from .process import already_ingested, ingest_las, scan_landing
from .raw_store import RawStore

la_partitions = dg.DynamicPartitionsDefinition(name="la_code")
RAW_KEYS = {name: dg.AssetKey(["raw", name]) for name in [*TABLES, "submissions", "findings"]}
RAW_DESCRIPTIONS = {
    **{
        name: f"Raw layer: {t.description}; typed Parquet per accepted version, with lineage."
        for name, t in TABLES.items()
    },
    "submissions": "Raw layer: the version ledger, one row per (file, table) event.",
    "findings": "Raw layer: every rejected file, rejected row and warning, with line, column and reason.",
}
# The version ledger and the findings change with every processed file, a rejected one or an
# identical resend too. The warehouse reads them live (views over the Parquet), so an update of
# theirs alone refreshes nothing downstream; a new version materialises its table, which does.
LEDGER_KEYS = [RAW_KEYS["submissions"], RAW_KEYS["findings"]]
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
    Versions are written pending: the raw checks that follow make them visible to the warehouse (a
    failed run leaves them pending; the next run checks them). A table is materialised only when it
    has a version pending its checks, so only that refreshes downstream; the ledger and findings
    whenever a file was processed (a rejected file, an identical resend), for the feedback reports
    and the ledger check. A run that finds nothing new materialises nothing."""
    paths = settings.paths
    scan = scan_landing(paths.landing, settings.landing_settle_seconds)
    for path in scan.refused:
        context.log.warning(
            f"Refused {shown_name(path.name)!r} in the landing folder: not a regular file (a symlink or special file)"
        )
    if scan.settling:
        context.log.info(
            f"{len(scan.settling)} landing files changed in the last {settings.landing_settle_seconds} s: "
            "they are taken once they are stable"
        )
    by_la = {}
    for path in scan.files:
        by_la.setdefault(la_of(path), []).append(path)
    summary = ingest_las(paths, {la: by_la.get(la, []) for la in context.partition_keys})
    for la_code, error in sorted(summary.failed_las.items()):
        context.log.error(f"LA {la_code}: the ingest failed ({error}); its files are retried by the next run")
    if summary.deferred:
        context.log.info(f"{len(summary.deferred)} files changed or went while being read: taken by the next run")
    store = RawStore(paths)
    pending = {la: store.ledger(la).pending() for la in context.partition_keys}
    pending = {la: events for la, events in pending.items() if events}
    tables_pending = {event["table_name"] for events in pending.values() for event in events}
    per_table = {name: 0 for name in TABLES}
    for outcome in summary.files:
        for event in outcome.events:
            if event["table_name"] in per_table:
                per_table[event["table_name"]] += event["rows_loaded"]
        if len(summary.files) <= LOG_EACH_FILE_UP_TO or outcome.outcome == "rejected":
            context.log.info(
                f"{shown_name(outcome.source_file)}: {outcome.outcome}, rows in {outcome.rows_in} = "
                f"loaded {outcome.rows_loaded} + rejected {outcome.rows_rejected}"
            )
    totals = {
        "files": len(summary.files),
        "skipped": summary.skipped,
        "files_rejected": summary.count("rejected"),
        "rows_in": sum(f.rows_in for f in summary.files),
        "rows_loaded": sum(f.rows_loaded for f in summary.files),
        "rows_rejected": sum(f.rows_rejected for f in summary.files),
    }
    context.log.info(
        f"{totals['files']} files ingested ({totals['files_rejected']} rejected), {totals['skipped']} unchanged "
        f"skipped; rows in {totals['rows_in']} = loaded {totals['rows_loaded']} + rejected {totals['rows_rejected']}"
    )
    if not summary.files and not pending:
        context.log.info(f"Nothing new in the landing folder ({summary.skipped} files already ingested)")
        return  # no materialisation: nothing downstream is refreshed for a no-change run
    if pending:
        totals["las_pending_checks"] = len(pending)
    if not tables_pending:
        context.log.info("No new version: only the ledger and findings are updated, nothing downstream is refreshed")
    for name, key in RAW_KEYS.items():
        if name in TABLES and name not in tables_pending:
            continue
        rows = per_table.get(name)
        yield dg.MaterializeResult(
            asset_key=key, metadata={**totals, **({"rows_loaded_table": rows} if rows is not None else {})}
        )


# Per LA: the raw layer, its blocking GX checks, and what else works per LA (the feedback reports).
PER_LA = dg.AssetSelection.assets(raw_returns).downstream() & dg.AssetSelection.groups("ingest", "assurance")
ingest_job = dg.define_asset_job("ingest_job", selection=PER_LA)


def pending_las(paths) -> list[str]:
    """LAs with versions whose checks have not passed (a run that failed or was killed before its
    checks): one query over every ledger."""
    import duckdb

    ledgers = paths.raw / "submissions"
    if not any(ledgers.glob("*.parquet")):
        return []
    with duckdb.connect() as con:
        ledger = con.sql(f"SELECT * FROM read_parquet('{ledgers}/*.parquet', union_by_name = true)")
        if "pending" not in ledger.columns:
            return []  # ledgers written before versions were checked first
        return sorted(r[0] for r in con.sql("SELECT DISTINCT la_code FROM ledger WHERE pending").fetchall())


def _ingest_runs_in_progress(instance: dg.DagsterInstance) -> bool:
    return bool(
        instance.get_run_records(
            dg.RunsFilter(
                job_name=ingest_job.name,
                statuses=[
                    dg.DagsterRunStatus.QUEUED,
                    dg.DagsterRunStatus.NOT_STARTED,
                    dg.DagsterRunStatus.STARTING,
                    dg.DagsterRunStatus.STARTED,
                ],
            ),
            limit=1,
        )
    )


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 30 s: ingest the LAs with new or changed files in the landing folder once they are stable "
    "(one run per LA, one run over all LAs for a bulk drop), and finish the checks of versions a failed "
    "run left pending. On its first tick, files the ledger already holds are not new.",
)
def landing_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings):
    """Notice new or changed files in the landing folder and ingest their LAs' partitions. A file
    changed within the settle interval is not seen yet (nor put in the cursor): it is taken once it
    is stable. Symlinks and special files are refused."""
    paths = settings.paths
    seen = dg.deserialize_value(context.cursor, dict) if context.cursor else None
    ledger_of = functools.cache(RawStore(paths).ledger)
    current, changed = {}, set()
    scan = scan_landing(paths.landing, settings.landing_settle_seconds)
    for path in scan.refused:
        context.log.warning(f"Refused {shown_name(path.name)!r} in the landing folder: not a regular file")
    for path in scan.files:
        try:
            stat = path.lstat()
        except OSError:
            continue  # gone since the scan
        signature = f"{stat.st_mtime_ns}:{stat.st_size}"
        current[str(path)] = signature
        previous = (seen or {}).get(str(path))
        if previous is None:  # not seen by this sensor (its first tick, or settling then): the ledger says
            is_new = not already_ingested(paths, path, ledger_of(la_of(path)))
        else:
            is_new = previous != signature
        if is_new:
            changed.add(la_of(path))
    if not _ingest_runs_in_progress(context.instance):
        changed |= set(pending_las(paths))  # versions a failed run left unchecked: this run finishes them
    if not changed:
        return dg.SensorResult(
            skip_reason="No new or changed files in the landing folder", cursor=dg.serialize_value(current)
        )
    known = set(context.instance.get_dynamic_partitions(la_partitions.name))
    new = sorted(changed - known)
    partitions = context.instance.get_dynamic_partitions(la_partitions.name) + new
    if len(changed) > BULK_RUN_THRESHOLD:
        run_requests = [
            dg.RunRequest(
                tags={
                    "dagster/asset_partition_range_start": partitions[0],
                    "dagster/asset_partition_range_end": partitions[-1],
                }
            )
        ]
    else:
        run_requests = [dg.RunRequest(partition_key=la) for la in sorted(changed)]
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[la_partitions.build_add_request(new)] if new else [],
        cursor=dg.serialize_value(current),
    )
