"""Ingest landing files into the raw layer, applying the version rules of spec §1.

``ingest_landing`` is what the Dagster assets and ``dbv ingest`` run; ``validate_file`` checks one
file the same way without writing anything (``dbv validate``).

Containment: whatever goes wrong while one file is read or normalised becomes that file's rejection
(a ledger event, a finding, a quarantine copy and so a feedback report); the other files and LAs move
on. Messages never carry a row's values: an unexpected fault is named by its type only.

Landing hygiene (``scan_landing``): symlinks and anything but regular files are refused; names
starting with ``.`` or ``~$`` or ending ``.part``, ``.tmp``, ``.partial`` or ``.crdownload`` are
uploads in progress (copy under such a name, then rename: the atomic-rename convention); any other
file is taken only once its mtime is ``settle_seconds`` old (a file still being copied keeps
changing it), and a file that changes while it is read is left for the next run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import multiprocessing
import os
import stat
import time
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
from .raw_store import FINDINGS_SCHEMA, Ledger, NotRegularFile, RawStore, open_regular
from .readers import RawTable, read_csv, read_xlsx

SUFFIXES = {".csv", ".xlsx"}
IN_PROGRESS = (".part", ".tmp", ".partial", ".crdownload")  # an upload under way (renamed when complete)
log = logging.getLogger(__name__)


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
    deferred: list[str] = field(default_factory=list)  # files that changed or went while read: next run
    failed_las: dict[str, str] = field(default_factory=dict)  # LA → the fault's type, when a whole LA failed

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.files if f.outcome == outcome)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LandingScan:
    """The landing folder's submission files (oldest first), and what was not taken and why."""

    files: list[Path] = field(default_factory=list)
    refused: list[Path] = field(default_factory=list)  # symlinks, FIFOs, devices, sockets
    settling: list[Path] = field(default_factory=list)  # changed within the settle interval


def is_submission_name(name: str) -> bool:
    """A name the ingest looks at: a CSV or XLSX (a trailing space or dot included, so that a
    mistyped name is rejected with a report, not ignored), not hidden, not an upload in progress."""
    lowered = name.strip().rstrip(".").lower()
    return not name.startswith(("~$", ".")) and not lowered.endswith(IN_PROGRESS) and lowered.endswith(tuple(SUFFIXES))


def scan_landing(landing: Path, settle_seconds: float = 0, now: float | None = None) -> LandingScan:
    """Walk the landing folder (without following symlinks) for submission files."""
    scan = LandingScan()
    if not landing.exists():
        return scan
    now = time.time() if now is None else now
    found = []
    for folder, dirs, names in os.walk(landing, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if not is_submission_name(name):
                continue
            path = Path(folder) / name
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(st.st_mode):
                scan.refused.append(path)
            elif settle_seconds and now - st.st_mtime < settle_seconds:
                scan.settling.append(path)
            else:
                found.append((st.st_mtime_ns, name, path))
    scan.files = [p for _, _, p in sorted(found)]
    return scan


def landing_files(landing: Path, settle_seconds: float = 0) -> list[Path]:
    """Submission files in the landing folder (and below), oldest first (see ``scan_landing``)."""
    return scan_landing(landing, settle_seconds).files


def source_name(paths: DataPaths, path: Path) -> str:
    """How the ledger names a landing file: its path below the landing folder."""
    return path.relative_to(paths.landing).as_posix() if path.is_relative_to(paths.landing) else path.name


def already_ingested(paths: DataPaths, path: Path, ledger: Ledger) -> bool:
    """Whether the ledger's last receipt under this file name is this file (ingest would skip it)."""
    try:
        mtime = path.lstat().st_mtime_ns
        return ledger.last_sha_of_file(source_name(paths, path)) is not None and ledger.same_file(
            source_name(paths, path), sha256_of(path), mtime
        )
    except OSError:
        return True  # gone, or not a regular file: nothing to ingest


def files_by_la(landing: Path, settle_seconds: float = 0) -> dict[str, list[Path]]:
    grouped: dict[str, list[Path]] = defaultdict(list)
    for path in landing_files(landing, settle_seconds):
        grouped[la_of(path)].append(path)
    return dict(grouped)


def _event(
    name: SubmissionName | None,
    table: str | None,
    source: str,
    sha: str,
    received: dt.datetime,
    outcome: str,
    rows_in: int = 0,
    loaded: int = 0,
    rejected: int = 0,
    warnings: int = 0,
    reason: str = "",
) -> dict:
    return {
        "la_code": name.la_code if name else None,
        "table_name": table,
        "return_period": name.period if name else None,
        "source_file": source,
        "source_sha256": sha,
        "received_at": received,
        "outcome": outcome,
        "rows_in": rows_in,
        "rows_loaded": loaded,
        "rows_rejected": rejected,
        "warnings": warnings,
        "reason": reason,
        "source_mtime_ns": None,
        "pending": outcome in ("loaded", "reverted"),
    }


def _findings(rows: pa.Table, name: SubmissionName | None, table: str | None, outcome: FileOutcome) -> pa.Table:
    n = rows.num_rows
    lineage = {
        "la_code": name.la_code if name else None,
        "table_name": table,
        "return_period": name.period if name else None,
        "source_file": outcome.source_file,
        "source_sha256": outcome.sha256,
        "received_at": outcome.received_at,
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


def process_file(
    path: Path,
    *,
    source_file: str,
    received_at: dt.datetime,
    ledger: Ledger | None,
    con: duckdb.DuckDBPyConnection,
    sha: str | None = None,
) -> FileOutcome:
    """Check one file (``sha``: its SHA-256 if already known) and decide its outcome per table; writes nothing."""
    sha = sha or sha256_of(path)
    outcome = FileOutcome(source_file, sha, received_at)
    name = None
    raw: dict[str, RawTable] = {}
    counted = 0  # rows of a file rejected for its name, counted for the ledger (rows in = rejected)
    try:
        try:
            name = parse_name(path)
        except FileRejected:
            counted = _count_rows(path)
            raise
        if dt.date(period_end_year(name.period) - 1, 4, 1) > received_at.date():
            counted = _count_rows(path)
            raise FileRejected("F_PERIOD_FUTURE", detail=name.period)
        known = ledger.tables_of(sha) if ledger is not None else []
        if ledger is not None and known and all(ledger.has_version(name.la_code, t, name.period, sha) for t in known):
            for table in known:
                same = ledger.current_sha(name.la_code, table, name.period) == sha
                outcome.events.append(
                    _event(
                        name,
                        table,
                        source_file,
                        sha,
                        received_at,
                        "unchanged" if same else "reverted",
                        reason="identical to the current version"
                        if same
                        else "identical to an earlier version, which is current again",
                    )
                )
            return outcome
        raw = _read(path, name)
        period_end = dt.date(period_end_year(name.period), 3, 31)
        results: dict[str, Normalised] = {
            table: normalise(
                con, TABLES[table], text, la_code=name.la_code, period_end=period_end, received_at=received_at
            )
            for table, text in raw.items()
        }
    except Exception as error:  # noqa: BLE001 - any fault of one file is that file's rejection
        fault = error if isinstance(error, FileRejected) else _unexpected(error)
        tables = [(t, text.rows) for t, text in raw.items()] or [(name.table if name else None, counted)]
        outcome.events = [
            _event(name, table, source_file, sha, received_at, "rejected", rows_in=n, rejected=n, reason=fault.message)
            for table, n in tables
        ]
        rows = pa.table(
            {
                "severity": ["file_rejected"],
                "rule_code": [fault.rule_code],
                "line": pa.array([None], pa.int64()),
                "column_name": [fault.column],
                "value": [fault.value],
                "message": [fault.message],
            }
        )
        outcome.findings = _findings(rows, name, name.table if name else None, outcome)
        return outcome

    parts = []
    for table, result in results.items():
        warnings = sum(1 for s in result.findings.column("severity").to_pylist() if s == "warning")
        outcome.events.append(
            _event(
                name,
                table,
                source_file,
                sha,
                received_at,
                "loaded",
                rows_in=result.rows_in,
                loaded=result.loaded.num_rows,
                rejected=result.rows_rejected,
                warnings=warnings,
            )
        )
        parts.append(_findings(result.findings, name, table, outcome))
        outcome.loaded[table] = result.loaded
    outcome.findings = pa.concat_tables(parts)
    return outcome


def _count_rows(path: Path) -> int:
    """The data rows of a file rejected for its name (a bad period, an unknown table), as read
    within the limits; 0 if it cannot be read."""
    try:
        if path.name.strip().lower().endswith(".xlsx"):
            return sum(t.rows for t in read_xlsx(path).values())
        return read_csv(path).rows
    except Exception:  # noqa: BLE001 - only a count: an unreadable file counts 0 rows
        return 0


def _unexpected(error: BaseException) -> FileRejected:
    """An unexpected fault while reading one file, named by its type only (its message may quote
    the file's values); logged without them."""
    if isinstance(error, MemoryError):
        fault = FileRejected("F_LIMIT", detail="reading it needed more memory than the pipeline has")
    elif isinstance(error, (NotRegularFile, FileNotFoundError)):
        fault = FileRejected("F_UNREADABLE", detail="it is not a regular file, or it went from the landing folder")
    else:
        fault = FileRejected("F_FAULT", detail=type(error).__name__)
    log.warning("A file was rejected after an unexpected %s", type(error).__name__)
    return fault


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


def ingest_la(
    paths: DataPaths,
    la_code: str,
    files: Iterable[Path],
    *,
    received_at: dt.datetime | None = None,
    duckdb_threads: int | None = None,
) -> IngestSummary:
    """Ingest one LA's landing files: the unit of work of one Dagster partition."""
    store = RawStore(paths)
    with store.la_lock(la_code):  # one ingest of an LA at a time: the second sees what the first did
        ledger = store.ledger(la_code)
        store.remove_orphans(ledger)
        return _ingest_la_locked(paths, store, ledger, la_code, files, received_at, duckdb_threads)


def _snapshot(path: Path) -> tuple[str, int, int] | None:
    """(SHA-256, size, mtime) of a regular landing file; None if it is not one or went."""
    try:
        before = path.lstat()
        if not stat.S_ISREG(before.st_mode):
            return None
        return sha256_of(path), before.st_size, before.st_mtime_ns
    except OSError:
        return None


def _unchanged_since(path: Path, size: int, mtime_ns: int) -> bool:
    try:
        after = path.lstat()
    except OSError:
        return False
    return (after.st_size, after.st_mtime_ns) == (size, mtime_ns)


def _ingest_la_locked(
    paths: DataPaths,
    store: RawStore,
    ledger: Ledger,
    la_code: str,
    files: Iterable[Path],
    received_at: dt.datetime | None,
    duckdb_threads: int | None,
) -> IngestSummary:
    summary = IngestSummary()
    clock = received_at or _utcnow()
    with duckdb.connect(config={"threads": duckdb_threads} if duckdb_threads else {}) as con:
        for path in files:
            source_file = source_name(paths, path)
            snapshot = _snapshot(path)
            if snapshot is None:
                summary.deferred.append(source_file)  # refused, or gone since the scan
                continue
            sha, size, mtime_ns = snapshot
            if ledger.same_file(source_file, sha, mtime_ns):
                summary.skipped += 1
                continue
            last = ledger.last_received()
            if last and clock <= last:  # received order must be strict, even within one second
                clock = last + dt.timedelta(microseconds=1)
            outcome = process_file(path, source_file=source_file, received_at=clock, ledger=ledger, con=con, sha=sha)
            if not _unchanged_since(path, size, mtime_ns):
                summary.deferred.append(source_file)  # still being written: taken once it is stable
                continue
            if outcome.outcome == "rejected":
                try:
                    store.quarantine(path, la_code, clock, sha)
                except OSError:
                    pass  # gone since it was read: the ledger and findings still record it
            for table, rows in outcome.loaded.items():
                event = next(e for e in outcome.events if e["table_name"] == table)
                store.write_version(
                    table,
                    la_code,
                    event["return_period"],
                    outcome.sha256,
                    _with_lineage(rows, outcome, event["return_period"]),
                )
            outcome.loaded = {}  # written; the summary carries counts and findings only
            if outcome.findings.num_rows:
                store.write_findings(la_code, outcome.sha256, clock, outcome.findings)
            for event in outcome.events:
                event["la_code"] = event["la_code"] or la_code
                event["source_mtime_ns"] = mtime_ns
            ledger.events.extend(outcome.events)
            summary.files.append(outcome)
            clock = _utcnow() if received_at is None else clock
    if summary.files:
        ledger.save()  # the commit point: versions written above become visible now
    return summary


def ingest_las(
    paths: DataPaths,
    groups: dict[str, list[Path]],
    *,
    received_at: dt.datetime | None = None,
    workers: int | None = None,
    progress: Callable[[str, IngestSummary], None] | None = None,
) -> IngestSummary:
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

    def failed(la_code: str, error: BaseException) -> None:
        total.failed_las[la_code] = type(error).__name__  # its type only: a message may quote values
        log.error(
            "Ingest of LA %s failed (%s); its files stay in landing for the next run", la_code, type(error).__name__
        )

    if workers <= 1:
        for la_code, files in sorted(groups.items()):
            try:
                add(la_code, ingest_la(paths, la_code, files, received_at=received_at))
            except Exception as error:  # noqa: BLE001 - one LA's failure does not stop the others
                failed(la_code, error)
        return total
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # one DuckDB thread per worker: the workers already use every core
        futures = {
            pool.submit(ingest_la, paths, la, files, received_at=received_at, duckdb_threads=1): la
            for la, files in sorted(groups.items())
        }
        for future in as_completed(futures):
            try:
                add(futures[future], future.result())
            except Exception as error:  # noqa: BLE001 - one LA's failure does not stop the others
                failed(futures[future], error)
    total.files.sort(key=lambda f: f.received_at)
    return total


def ingest_landing(
    paths: DataPaths,
    la_codes: Iterable[str] | None = None,
    *,
    received_at: dt.datetime | None = None,
    workers: int | None = None,
    progress: Callable[[str, IngestSummary], None] | None = None,
) -> IngestSummary:
    """Ingest every new or changed file in the landing folder (optionally only some LAs)."""
    wanted = set(la_codes) if la_codes is not None else None
    groups = {la: files for la, files in files_by_la(paths.landing).items() if wanted is None or la in wanted}
    return ingest_las(paths, groups, received_at=received_at, workers=workers, progress=progress)
