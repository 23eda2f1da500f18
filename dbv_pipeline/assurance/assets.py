"""Feedback reports for LAs: one per received file, written after each ingest of the LA."""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import dagster as dg

from ..ingest.assets import RAW_KEYS, la_partitions
from ..ingest.raw_store import RawStore
from ..settings import DataPaths
from .feedback import write_feedback_report


def reports_to_write(paths: DataPaths, la_code: str) -> list[str]:
    """SHA-256 of the LA's processed files that have no feedback report yet (unchanged resends need none)."""
    folder = paths.reports / "feedback" / la_code
    done = {p.name.split("__", 1)[0] for p in folder.glob("*.html")} if folder.exists() else set()
    wanted = {}
    for event in RawStore(paths).ledger(la_code).events:
        if event["outcome"] != "unchanged" and f"{event['received_at']:%Y%m%dT%H%M%S%fZ}" not in done:
            wanted[event["received_at"]] = event["source_sha256"]
    return list(wanted.values())


def write_la_reports(paths: DataPaths, la_code: str) -> list[str]:
    """Write the LA's missing feedback reports; returns the HTML paths."""
    return [str(write_feedback_report(paths, la_code, sha)[0]) for sha in reports_to_write(paths, la_code)]


@dg.asset(
    key=["reports", "feedback"],
    deps=list(RAW_KEYS.values()),
    partitions_def=la_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="assurance",
    kinds={"html", "xlsx"},
)
def feedback_reports(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Each LA's feedback report (HTML and XLSX) for every file it sent: what loaded, every rejected
    file and row with the reason in plain words, every warning. LAs are written in parallel."""
    paths = DataPaths.from_env()
    las = list(context.partition_keys)
    workers = min(os.cpu_count() or 1, len(las))
    if workers <= 1:
        written = [path for la in las for path in write_la_reports(paths, la)]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            written = [path for paths_of_la in pool.map(write_la_reports, [paths] * len(las), las) for path in paths_of_la]
    context.log.info(f"{len(written)} feedback reports written under {paths.reports / 'feedback'}")
    return dg.MaterializeResult(metadata={"reports_written": len(written), "folder": str(paths.reports / "feedback")})
