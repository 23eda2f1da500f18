"""Ingest landing files into the raw layer, applying the version rules of spec §1.

``ingest_landing`` is what the Dagster assets and ``dbv ingest`` run; ``validate_file`` checks one
file the same way without writing anything (``dbv validate``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from ..contract import TABLES
from ..settings import DataPaths
from .errors import FileRejected
from .filenames import SubmissionName, la_of, parse_name, period_end_year
from .normalise import Normalised, normalise
from .raw_store import FINDINGS_SCHEMA, Ledger, RawStore
from .readers import RawTable, read_csv, read_xlsx

SUFFIXES = {".csv", ".xlsx"}


@dataclass
class FileOutcome:
    """What happened to one file: a ledger event per table, and its findings."""

    source_file: str
    sha256: str
    received_at: dt.datetime
    events: list[dict] = field(default_factory=list)
    findings: pa.Table = field(default_factory=FINDINGS_SCHEMA.empty_table)
    loaded: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        outcomes = {e["outcome"] for e in self.events}
        return "rejected" if "rejected" in outcomes else ",".join(sorted(outcomes))

    @property
    def rows_in(self) -> int:
        return sum(e["rows_in"] for e in self.events)

    @property
    def rows_loaded(self) -> int:
        return sum(e["rows_loaded"] for e in self.events)

    @property
    def rows_rejected(self) -> int:
        return sum(e["rows_rejected"] for e in self.events)


@dataclass
class IngestSummary:
    files: list[FileOutcome] = field(default_factory=list)
    skipped: int = 0  # landing files already processed with the same content

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.files if f.outcome == outcome)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def landing_files(landing: Path) -> list[Path]:
    """Submission files in the landing folder (and below), oldest first."""
    if not landing.exists():
        return []
    files = [p for p in landing.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(("~$", "."))]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def source_name(paths: DataPaths, path: Path) -> str:
    """How the ledger names a landing file: its path below the landing folder."""
    return path.relative_to(paths.landing).as_posix() if path.is_relative_to(paths.landing) else path.name


def already_ingested(paths: DataPaths, path: Path, ledger: Ledger) -> bool:
    """Whether the ledger's last version of this file name has this content (ingest would skip it)."""
    last = ledger.last_sha_of_file(source_name(paths, path))
    return last is not None and last == sha256_of(path)


def files_by_la(landing: Path) -> dict[str, list[Path]]:
    grouped: dict[str, list[Path]] = defaultdict(list)
    for path in landing_files(landing):
        grouped[la_of(path)].append(path)
    return dict(grouped)


def _event(name: SubmissionName | None, table: str | None, source: str, sha: str, received: dt.datetime, outcome: str,
           rows_in: int = 0, loaded: int = 0, rejected: int = 0, warnings: int = 0, reason: str = "") -> dict:
    return {
        "la_code": name.la_code if name else None, "table_name": table, "return_period": name.period if name else None,
        "source_file": source, "source_sha256": sha, "received_at": received, "outcome": outcome,
        "rows_in": rows_in, "rows_loaded": loaded, "rows_rejected": rejected, "warnings": warnings, "reason": reason,
    }


def _findings(rows: pa.Table, name: SubmissionName | None, table: str | None, outcome: FileOutcome) -> pa.Table:
    n = rows.num_rows
    lineage = {
        "la_code": name.la_code if name else None, "table_name": table, "return_period": name.period if name else None,
        "source_file": outcome.source_file, "source_sha256": outcome.sha256, "received_at": outcome.received_at,
    }
    columns = {k: pa.array([v] * n, FINDINGS_SCHEMA.field(k).type) for k, v in lineage.items()}
    for f in ("severity", "rule_code", "line", "column_name", "value", "message"):
        columns[f] = rows.column(f).cast(FINDINGS_SCHEMA.field(f).type)
    return pa.table(columns, schema=FINDINGS_SCHEMA)


def _read(path: Path, name: SubmissionName) -> dict[str, RawTable]:
    """The file's tables; a workbook's empty table sheets (a template's unused sheets) are not sent."""
    if not name.is_workbook:
        return {name.table: read_csv(path)}
    sheets = read_xlsx(path)
    filled = {table: text for table, text in sheets.items() if text.rows}
    return filled or sheets


def process_file(path: Path, *, source_file: str, received_at: dt.datetime, ledger: Ledger | None,
                 con: duckdb.DuckDBPyConnection, sha: str | None = None) -> FileOutcome:
    """Check one file (``sha``: its SHA-256 if already known) and decide its outcome per table; writes nothing."""
    sha = sha or sha256_of(path)
    outcome = FileOutcome(source_file, sha, received_at)
    name = None
    raw: dict[str, RawTable] = {}
    try:
        name = parse_name(path)
        known = ledger.tables_of(sha) if ledger else []
        if known and all(ledger.has_version(name.la_code, t, name.period, sha) for t in known):
            for table in known:
                same = ledger.current_sha(name.la_code, table, name.period) == sha
                outcome.events.append(_event(name, table, source_file, sha, received_at, "unchanged" if same else "reverted",
                                             reason="identical to the current version" if same else "identical to an earlier version, which is current again"))
            return outcome
        raw = _read(path, name)
        period_end = dt.date(period_end_year(name.period), 3, 31)
        results: dict[str, Normalised] = {
            table: normalise(con, TABLES[table], text, la_code=name.la_code, period_end=period_end, received_at=received_at)
            for table, text in raw.items()
        }
    except FileRejected as fault:
        tables = [(t, text.rows) for t, text in raw.items()] or [(name.table if name else None, 0)]
        outcome.events = [
            _event(name, table, source_file, sha, received_at, "rejected", rows_in=n, rejected=n, reason=fault.message)
            for table, n in tables
        ]
        rows = pa.table({"severity": ["file_rejected"], "rule_code": [fault.rule_code], "line": pa.array([None], pa.int64()),
                         "column_name": [fault.column], "value": [fault.value], "message": [fault.message]})
        outcome.findings = _findings(rows, name, name.table if name else None, outcome)
        return outcome

    parts = []
    for table, result in results.items():
        warnings = sum(1 for s in result.findings.column("severity").to_pylist() if s == "warning")
        outcome.events.append(_event(name, table, source_file, sha, received_at, "loaded", rows_in=result.rows_in,
                                     loaded=result.loaded.num_rows, rejected=result.rows_rejected, warnings=warnings))
        parts.append(_findings(result.findings, name, table, outcome))
        outcome.loaded[table] = result.loaded
    outcome.findings = pa.concat_tables(parts)
    return outcome


def validate_file(path: Path, received_at: dt.datetime | None = None) -> FileOutcome:
    """Check a file as ingest would, without writing anything; ``loaded`` holds the rows as they
    would be stored (with their lineage)."""
    with duckdb.connect() as con:
        outcome = process_file(path, source_file=path.name, received_at=received_at or _utcnow(), ledger=None, con=con)
    periods = {e["table_name"]: e["return_period"] for e in outcome.events}
    outcome.loaded = {table: _with_lineage(rows, outcome, periods[table]) for table, rows in outcome.loaded.items()}
    return outcome


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _with_lineage(rows: pa.Table, outcome: FileOutcome, period: str) -> pa.Table:
    n = rows.num_rows
    rows = rows.append_column("source_file", pa.array([outcome.source_file] * n, pa.string()))
    rows = rows.append_column("source_sha256", pa.array([outcome.sha256] * n, pa.string()))
    rows = rows.append_column("received_at", pa.array([outcome.received_at] * n, pa.timestamp("us")))
    return rows.append_column("return_period", pa.array([period] * n, pa.string()))


def ingest_la(paths: DataPaths, la_code: str, files: Iterable[Path], *, received_at: dt.datetime | None = None,
              duckdb_threads: int | None = None) -> IngestSummary:
    """Ingest one LA's landing files: the unit of work of one Dagster partition."""
    store = RawStore(paths)
    ledger = store.ledger(la_code)
    summary = IngestSummary()
    clock = received_at or _utcnow()
    with duckdb.connect(config={"threads": duckdb_threads} if duckdb_threads else {}) as con:
        for path in files:
            source_file = source_name(paths, path)
            sha = sha256_of(path)
            if ledger.last_sha_of_file(source_file) == sha:
                summary.skipped += 1
                continue
            last = ledger.last_received()
            if last and clock <= last:  # received order must be strict, even within one second
                clock = last + dt.timedelta(microseconds=1)
            outcome = process_file(path, source_file=source_file, received_at=clock, ledger=ledger, con=con, sha=sha)
            if outcome.outcome == "rejected":
                store.quarantine(path, la_code, clock)
            for table, rows in outcome.loaded.items():
                event = next(e for e in outcome.events if e["table_name"] == table)
                store.write_version(table, la_code, event["return_period"], outcome.sha256,
                                    _with_lineage(rows, outcome, event["return_period"]))
            outcome.loaded = {}  # written; the summary carries counts and findings only
            if outcome.findings.num_rows:
                store.write_findings(la_code, outcome.sha256, clock, outcome.findings)
            for event in outcome.events:
                event["la_code"] = event["la_code"] or la_code
            ledger.events.extend(outcome.events)
            summary.files.append(outcome)
            clock = _utcnow() if received_at is None else clock
    if summary.files:
        ledger.save()  # the commit point: versions written above become visible now
    return summary


def ingest_las(paths: DataPaths, groups: dict[str, list[Path]], *, received_at: dt.datetime | None = None,
               workers: int | None = None, progress: Callable[[str, IngestSummary], None] | None = None) -> IngestSummary:
    """Ingest several LAs' files, in parallel processes when there are several LAs (each LA writes
    only its own files, so LAs never contend)."""
    RawStore(paths).ensure_schemas()
    workers = min(workers or os.cpu_count() or 1, len(groups))
    total = IngestSummary()

    def add(la_code: str, result: IngestSummary) -> None:
        total.files += result.files
        total.skipped += result.skipped
        if progress:
            progress(la_code, result)

    if workers <= 1:
        for la_code, files in sorted(groups.items()):
            add(la_code, ingest_la(paths, la_code, files, received_at=received_at))
        return total
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # one DuckDB thread per worker: the workers already use every core
        futures = {pool.submit(ingest_la, paths, la, files, received_at=received_at, duckdb_threads=1): la
                   for la, files in sorted(groups.items())}
        for future in as_completed(futures):
            add(futures[future], future.result())
    total.files.sort(key=lambda f: f.received_at)
    return total


def ingest_landing(paths: DataPaths, la_codes: Iterable[str] | None = None, *, received_at: dt.datetime | None = None,
                   workers: int | None = None, progress: Callable[[str, IngestSummary], None] | None = None) -> IngestSummary:
    """Ingest every new or changed file in the landing folder (optionally only some LAs)."""
    wanted = set(la_codes) if la_codes is not None else None
    groups = {la: files for la, files in files_by_la(paths.landing).items() if wanted is None or la in wanted}
    return ingest_las(paths, groups, received_at=received_at, workers=workers, progress=progress)
