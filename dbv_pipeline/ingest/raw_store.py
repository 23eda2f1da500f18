"""The raw layer on disk: typed Parquet per accepted version, findings per file, and the per-LA
version ledger (layout in docs/raw_layer.md). Every write is atomic (temp file + rename); the
ledger is written last, so a run killed mid-ingest leaves no partial version and a rerun recovers
(``RawStore.remove_orphans`` deletes the findings and quarantine copies a killed run left behind).

The raw layer and the quarantine hold child-level data: their folders are created ``0700`` and
their files ``0600`` (readable by the pipeline's user only), whatever the process's umask. One LA's
files are changed under that LA's lock (``RawStore.la_lock``), so two ingests (or an ingest and a
check marking versions assured) never interleave.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..contract import TABLES
from ..settings import DataPaths

ACCEPTED = ("loaded", "reverted")
LEDGER_SCHEMA = pa.schema(
    [
        ("la_code", pa.string()),
        ("table_name", pa.string()),
        ("return_period", pa.string()),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("received_at", pa.timestamp("us")),
        ("outcome", pa.string()),
        ("rows_in", pa.int64()),
        ("rows_loaded", pa.int64()),
        ("rows_rejected", pa.int64()),
        ("warnings", pa.int64()),
        ("reason", pa.string()),
        ("source_mtime_ns", pa.int64()),  # the landing file's mtime: a re-sent identical file is a new receipt
        ("pending", pa.bool_()),  # an accepted version whose blocking checks have not passed yet: not visible
    ]
)
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
LINEAGE_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("source_line", pa.int64()),
        ("received_at", pa.timestamp("us")),
        ("return_period", pa.string()),
    ]
)
FINDINGS_SCHEMA = pa.schema(
    [
        ("la_code", pa.string()),
        ("table_name", pa.string()),
        ("return_period", pa.string()),
        ("source_file", pa.string()),
        ("source_sha256", pa.string()),
        ("received_at", pa.timestamp("us")),
        ("severity", pa.string()),
        ("rule_code", pa.string()),
        ("line", pa.int64()),
        ("column_name", pa.string()),
        ("value", pa.string()),
        ("message", pa.string()),
    ]
)


def private_dir(path: Path) -> Path:
    """A folder (and its missing parents) readable by the owner only."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)
    return missing[0] if missing else path


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")  # per writer: threads too
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.close(fd)
    os.chmod(tmp, PRIVATE_FILE)
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def compact(ts: dt.datetime) -> str:
    return ts.strftime("%Y%m%dT%H%M%S%fZ")


@dataclass
class Ledger:
    """One LA's version history: every (file, table) event, in the order received."""

    path: Path
    events: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Ledger:
        events = pq.read_table(path).to_pylist() if path.exists() else []
        for event in events:  # a ledger written before these columns: its versions were assured
            event.setdefault("source_mtime_ns", None)
            event["pending"] = bool(event.get("pending"))
        return cls(path, events)

    def pending(self) -> list[dict]:
        """Accepted events whose version's blocking checks have not passed yet."""
        return [e for e in self.events if e["pending"]]

    def mark_assured(self, versions: set[tuple[str, str, str, str]]) -> int:
        """Mark the pending events of the given (la_code, table, period, sha) as assured; returns how many."""
        marked = 0
        for e in self.events:
            if e["pending"] and (e["la_code"], e["table_name"], e["return_period"], e["source_sha256"]) in versions:
                e["pending"] = False
                marked += 1
        return marked

    def same_file(self, source_file: str, sha: str, mtime_ns: int | None) -> bool:
        """Whether this landing file is the one last received under its name (same content and, when
        both are known, same mtime): it is not received again. An identical file sent again (a new
        mtime) is a new receipt, recorded as unchanged."""
        last = [e for e in self.events if e["source_file"] == source_file]
        if not last or last[-1]["source_sha256"] != sha:
            return False
        recorded = last[-1].get("source_mtime_ns")
        return recorded is None or mtime_ns is None or recorded == mtime_ns

    def _accepted(self, la: str, table: str, period: str) -> list[dict]:
        return [
            e
            for e in self.events
            if (e["la_code"], e["table_name"], e["return_period"]) == (la, table, period) and e["outcome"] in ACCEPTED
        ]

    def current_sha(self, la: str, table: str, period: str) -> str | None:
        accepted = self._accepted(la, table, period)
        return accepted[-1]["source_sha256"] if accepted else None

    def has_version(self, la: str, table: str, period: str, sha: str) -> bool:
        return any(e["source_sha256"] == sha for e in self._accepted(la, table, period))

    def tables_of(self, sha: str) -> list[str]:
        """Tables an already-accepted file held (a workbook holds several)."""
        return sorted({e["table_name"] for e in self.events if e["source_sha256"] == sha and e["outcome"] in ACCEPTED})

    def last_sha_of_file(self, source_file: str) -> str | None:
        shas = [e["source_sha256"] for e in self.events if e["source_file"] == source_file]
        return shas[-1] if shas else None

    def last_received(self) -> dt.datetime | None:
        return max((e["received_at"] for e in self.events), default=None)

    def save(self) -> None:
        write_parquet_atomic(pa.Table.from_pylist(self.events, schema=LEDGER_SCHEMA), self.path)


class RawStore:
    """Writes the raw layer for one data folder."""

    def __init__(self, paths: DataPaths):
        self.paths = paths

    def ledger(self, la_code: str) -> Ledger:
        return Ledger.load(self.paths.raw / "submissions" / f"{la_code}.parquet")

    @contextlib.contextmanager
    def la_lock(self, la_code: str):
        """Hold the LA's lock (an exclusive ``flock``, released if the process dies): one writer of
        an LA's raw files at a time, across processes."""
        folder = self.paths.raw / ".locks"
        private_dir(folder)
        fd = os.open(folder / f"{la_code}.lock", os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def remove_orphans(self, ledger: Ledger) -> int:
        """Findings and quarantine copies (and temp files) of the LA that its ledger does not record:
        left by a run killed before its ledger was saved. Call under the LA's lock."""
        la_code = ledger.path.stem
        received = {compact(e["received_at"]) for e in ledger.events}
        receipts = {(compact(e["received_at"]), e["source_sha256"]) for e in ledger.events}
        removed = 0
        findings = self.paths.raw / "findings" / la_code
        for path in findings.glob("*.parquet") if findings.exists() else []:
            stamp, _, sha = path.stem.partition("__")
            if (stamp, sha) not in receipts:
                path.unlink(missing_ok=True)
                removed += 1
        quarantine = self.paths.quarantine / la_code
        for path in quarantine.iterdir() if quarantine.exists() else []:
            if path.name.partition("__")[0] not in received:
                path.unlink(missing_ok=True)
                removed += 1
        # Temp files of this LA only: the submissions folder holds every LA's ledger, and another LA's
        # worker may be writing its own there now.
        own = [
            (findings, ".*.tmp"),
            (self.paths.raw / "submissions", f".{la_code}.parquet.*.tmp"),
            *((self.paths.raw / t / la_code, ".*.tmp") for t in TABLES),
        ]
        for folder, pattern in own:
            for tmp in folder.glob(pattern) if folder.exists() else []:
                tmp.unlink(missing_ok=True)
        return removed

    def version_path(self, table: str, la_code: str, period: str, sha: str) -> Path:
        return self.paths.raw / table / la_code / f"{period}__{sha}.parquet"

    def write_version(self, table: str, la_code: str, period: str, sha: str, rows: pa.Table) -> None:
        write_parquet_atomic(rows, self.version_path(table, la_code, period, sha))

    def write_findings(self, la_code: str, sha: str, received_at: dt.datetime, findings: pa.Table) -> None:
        path = self.paths.raw / "findings" / la_code / f"{compact(received_at)}__{sha}.parquet"
        write_parquet_atomic(findings.cast(FINDINGS_SCHEMA), path)

    def quarantine(
        self, source: Path, la_code: str, received_at: dt.datetime, sha: str, content: bytes | None = None
    ) -> Path:
        """Keep a rejected file as received, owner-only: ``quarantine/<la>/<received>__<name>``, or
        ``<received>__<sha256>.quarantined`` when its name is not a safe file name (too long, not
        ASCII). ``content``: the bytes already read (the file may have gone from landing since)."""
        name = source.name if SAFE_NAME.fullmatch(source.name) else f"{sha[:16]}.quarantined"
        target = self.paths.quarantine / la_code / f"{compact(received_at)}__{name}"
        private_dir(target.parent)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as out:
            if content is not None:
                out.write(content)
            else:
                with open_regular(source) as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
        os.chmod(target, PRIVATE_FILE)
        return target

    def ensure_schemas(self) -> None:
        """An empty Parquet file per raw table, so readers' globs always match a typed file; the
        raw and quarantine folders owner-only."""
        for folder in (self.paths.raw, self.paths.quarantine):
            private_dir(folder)
            os.chmod(folder, PRIVATE_DIR)
        con = duckdb.connect()
        for table in TABLES.values():
            cols = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in table.columns)
            empty = con.sql(f"SELECT {cols} LIMIT 0").to_arrow_table()
            for f in LINEAGE_SCHEMA:
                empty = empty.append_column(f, pa.array([], f.type))
            self._write_once(empty, table.name)
        self._write_once(LEDGER_SCHEMA.empty_table(), "submissions")
        self._write_once(FINDINGS_SCHEMA.empty_table(), "findings")
        con.close()

    def _write_once(self, empty: pa.Table, name: str) -> None:
        path = self.paths.raw / name / "_schema" / "empty.parquet"
        if not path.exists() or not pq.read_schema(path).equals(empty.schema, check_metadata=False):
            write_parquet_atomic(empty, path)


SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)


def open_regular(path: Path):
    """Open a landing file for reading, refusing a symlink (``O_NOFOLLOW``) or anything but a
    regular file (a FIFO would block: ``O_NONBLOCK``, then checked)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat_is_regular(os.fstat(fd)):
            raise NotRegularFile(path.name)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def stat_is_regular(st: os.stat_result) -> bool:
    import stat

    return stat.S_ISREG(st.st_mode)


class NotRegularFile(OSError):
    """A landing entry that is not a regular file (a symlink, FIFO, device or socket)."""
