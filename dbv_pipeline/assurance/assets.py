"""Feedback reports for LAs: one per received file, written after each ingest of the LA."""

import dagster as dg

from ..ingest.assets import LEDGER_KEYS, la_partitions
from ..ingest.raw_store import RawStore
from ..settings import DataPaths, PipelineSettings
from .feedback import write_feedback_reports


def reports_to_write(paths: DataPaths, la_code: str) -> list[tuple[str, object]]:
    """(SHA-256, received_at) of the LA's receipts that have no feedback report yet (a re-sent identical file
    gets a short one: the LA hears that it arrived)."""
    folder = paths.reports / "feedback" / la_code
    done = {p.name.split("__", 1)[0] for p in folder.glob("*.html")} if folder.exists() else set()
    wanted = {}
    for event in RawStore(paths).ledger(la_code).events:
        if f"{event['received_at']:%Y%m%dT%H%M%S%fZ}" not in done:
            wanted[event["received_at"]] = (event["source_sha256"], event["received_at"])
    return list(wanted.values())


@dg.asset(
    key=["reports", "feedback"],
    deps=LEDGER_KEYS,  # the ledger and findings: materialised whenever a file was processed
    partitions_def=la_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="assurance",
    kinds={"html", "xlsx"},
)
def feedback_reports(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    """Each LA's feedback report (HTML and XLSX) for every file it sent: what loaded, every rejected
    file and row with the reason in plain words, every warning. The reports of all the run's LAs
    are built together, so the GX suites run once over them."""
    paths = settings.paths
    written = write_feedback_reports(paths, {la: reports_to_write(paths, la) for la in context.partition_keys})
    context.log.info(f"{len(written)} feedback reports written under {paths.reports / 'feedback'}")
    return dg.MaterializeResult(metadata={"reports_written": len(written), "folder": str(paths.reports / "feedback")})
