"""A check on the version ledger (``raw/submissions``): is every LA's latest file accepted?

An LA whose most recent file for a (table, period) was rejected, with no accepted file after it,
still has its previous version current (or nothing): the check ``latest_files_accepted`` fails
with severity WARN (it never blocks) and names the LA, the file and the reason. A file rejected
before its table or period was known (a malformed name, an unreadable workbook) counts until the LA
sends an accepted file for what is known of it (its period, or anything). A later accepted file
(loaded, an earlier version made current again, or the current version resent unchanged) clears it.
Files whose name names no LA (the ``unattributed`` ledger) cannot be superseded by any file, so
they are counted in the metadata but do not fail the check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from ..ingest.filenames import UNATTRIBUTED
from ..ingest.raw_store import RawStore
from ..settings import DataPaths, PipelineSettings
from .checks import md_cell, plural

LEDGER_KEY = dg.AssetKey(["raw", "submissions"])
CHECK_NAME = "latest_files_accepted"
DESCRIBED_FILES = 5  # files named in the check's description; all are in its metadata


@dataclass(frozen=True)
class RejectedFile:
    """A rejected file that no accepted file followed."""

    la_code: str
    source_file: str
    received_at: dt.datetime
    period: str | None
    tables: tuple[str, ...]
    reason: str

    def describe(self) -> str:
        return f"LA {self.la_code}: {self.source_file} rejected: {self.reason}"


def _covers(rejected: dict, scope: tuple[str | None, str | None]) -> bool:
    """Whether an accepted (table, period) supersedes a rejected event (its unknown table or period
    matching any)."""
    table, period = scope
    return rejected["table_name"] in (None, table) and rejected["return_period"] in (None, period)


def outstanding(events: list[dict]) -> list[RejectedFile]:
    """One LA's rejected files that no accepted file of the same table and period followed, oldest first."""
    accepted_later: set[tuple[str | None, str | None]] = set()
    files: dict[tuple, list[dict]] = {}
    for event in sorted(events, key=lambda e: e["received_at"], reverse=True):
        if event["outcome"] != "rejected":
            accepted_later.add((event["table_name"], event["return_period"]))
        elif not any(_covers(event, scope) for scope in accepted_later):
            files.setdefault((event["source_sha256"], event["received_at"]), []).append(event)
    rejected = []
    for first, *rest in reversed(files.values()):
        tables = tuple(sorted({e["table_name"] for e in [first, *rest] if e["table_name"]}))
        rejected.append(
            RejectedFile(
                first["la_code"],
                first["source_file"],
                first["received_at"],
                first["return_period"],
                tables,
                first["reason"] or "rejected",
            )
        )
    return rejected


def ledger_las(paths: DataPaths) -> list[str]:
    """Every LA with a ledger (and ``unattributed`` if files with no LA were received)."""
    return sorted(p.stem for p in (paths.raw / "submissions").glob("*.parquet"))


def rejected_latest(paths: DataPaths) -> tuple[list[str], list[RejectedFile]]:
    """Every ledger's LA, and the rejected files no accepted file followed, by LA."""
    store = RawStore(paths)
    las = ledger_las(paths)
    return las, [f for la in las for f in outstanding(store.ledger(la).events)]


def files_table(files: list[RejectedFile]) -> str:
    rows = ["| LA | file | table | period | received (UTC) | reason |", "|---|---|---|---|---|---|"]
    rows += [
        f"| {f.la_code} | {md_cell(f.source_file)} | {', '.join(f.tables) or '?'} | {f.period or '?'} | "
        f"{f.received_at:%Y-%m-%d %H:%M:%S} | {md_cell(f.reason)} |"
        for f in files
    ]
    return "\n".join(rows)


def latest_files_result(paths: DataPaths) -> dg.AssetCheckResult:
    las, files = rejected_latest(paths)
    flagged = [f for f in files if f.la_code != UNATTRIBUTED]
    unattributed = [f for f in files if f.la_code == UNATTRIBUTED]
    la_count = len([la for la in las if la != UNATTRIBUTED])
    flagged_las = sorted({f.la_code for f in flagged})
    if flagged:
        shown = "; ".join(f.describe() for f in flagged[:DESCRIBED_FILES])
        more = len(flagged) - DESCRIBED_FILES
        has = "has a rejected latest file" if len(flagged_las) == 1 else "have rejected latest files"
        description = (
            f"{len(flagged_las)} of {plural(la_count, 'LA')} {has} ({plural(len(flagged), 'file')}): "
            f"{shown}" + (f"; and {more} more (see metadata)" if more > 0 else "")
        )
    else:
        description = (
            f"Passed: every LA's latest file for each table and period was accepted ({plural(la_count, 'LA')})"
        )
    if unattributed:
        description += (
            f". {plural(len(unattributed), 'file')} naming no LA {'was' if len(unattributed) == 1 else 'were'} "
            "rejected (see metadata)"
        )
    metadata = {
        "las_checked": la_count,
        "las_flagged": len(flagged_las),
        "files_rejected": len(flagged),
        "rejected_latest": dg.MetadataValue.md(
            files_table(flagged) if flagged else "No LA's latest file was rejected."
        ),
    }
    if unattributed:
        metadata["unattributed_rejected"] = len(unattributed)
        metadata["unattributed"] = dg.MetadataValue.md(files_table(unattributed))
    return dg.AssetCheckResult(
        passed=not flagged, severity=dg.AssetCheckSeverity.WARN, description=description, metadata=metadata
    )


@dg.asset_check(
    asset=LEDGER_KEY,
    name=CHECK_NAME,
    blocking=False,
    description="Never blocks: fails with severity WARN. Over every LA's ledger: an LA's most recent file for a "
    "table and period (or a file rejected before its table was known) was rejected and no accepted "
    "file followed, so the LA's previous version (if any) stays current. Names the LAs and files.",
)
def latest_files_accepted(settings: PipelineSettings) -> dg.AssetCheckResult:
    return latest_files_result(settings.paths)
