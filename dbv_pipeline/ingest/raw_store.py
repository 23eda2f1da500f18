"""The raw layer on disk: typed Parquet per accepted version, findings per file, and the per-LA
version ledger (layout in docs/raw_layer.md). Every write is atomic (temp file + rename); the
ledger is written last, so a run killed mid-ingest leaves no partial version and a rerun recovers.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..contract import TABLES
from ..settings import DataPaths

ACCEPTED = ("loaded", "reverted")
LEDGER_SCHEMA = pa.schema([
    ("la_code", pa.string()), ("table_name", pa.string()), ("return_period", pa.string()),
    ("source_file", pa.string()), ("source_sha256", pa.string()), ("received_at", pa.timestamp("us")),
    ("outcome", pa.string()), ("rows_in", pa.int64()), ("rows_loaded", pa.int64()),
    ("rows_rejected", pa.int64()), ("warnings", pa.int64()), ("reason", pa.string()),
])
LINEAGE_SCHEMA = pa.schema([
    ("source_file", pa.string()), ("source_sha256", pa.string()), ("source_line", pa.int64()),
    ("received_at", pa.timestamp("us")), ("return_period", pa.string()),
])
FINDINGS_SCHEMA = pa.schema([
    ("la_code", pa.string()), ("table_name", pa.string()), ("return_period", pa.string()),
    ("source_file", pa.string()), ("source_sha256", pa.string()), ("received_at", pa.timestamp("us")),
    ("severity", pa.string()), ("rule_code", pa.string()), ("line", pa.int64()),
    ("column_name", pa.string()), ("value", pa.string()), ("message", pa.string()),
])


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
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
    def load(cls, path: Path) -> "Ledger":
        events = pq.read_table(path).to_pylist() if path.exists() else []
        return cls(path, events)

    def _accepted(self, la: str, table: str, period: str) -> list[dict]:
        return [
            e for e in self.events
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

    def version_path(self, table: str, la_code: str, period: str, sha: str) -> Path:
        return self.paths.raw / table / la_code / f"{period}__{sha}.parquet"

    def write_version(self, table: str, la_code: str, period: str, sha: str, rows: pa.Table) -> None:
        write_parquet_atomic(rows, self.version_path(table, la_code, period, sha))

    def write_findings(self, la_code: str, sha: str, received_at: dt.datetime, findings: pa.Table) -> None:
        path = self.paths.raw / "findings" / la_code / f"{compact(received_at)}__{sha}.parquet"
        write_parquet_atomic(findings.cast(FINDINGS_SCHEMA), path)

    def quarantine(self, source: Path, la_code: str, received_at: dt.datetime) -> Path:
        target = self.paths.quarantine / la_code / f"{compact(received_at)}__{source.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return target

    def ensure_schemas(self) -> None:
        """An empty Parquet file per raw table, so readers' globs always match a typed file."""
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
        if not path.exists():
            write_parquet_atomic(empty, path)
