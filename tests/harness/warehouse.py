"""Test helpers: write a hand-made raw layer exactly as docs/raw_layer.md lays it out, and run
``dbt`` on a copy of the project into a temporary data folder.

For tests of the warehouse on its own (edge cases of the census and version rules); end-to-end
tests go through the real ingest instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dbv_pipeline.contract import TABLES
from dbv_pipeline.settings import DBT_PROJECT_DIR, DataPaths
from dbv_pipeline.warehouse.seeds import write_contract_seeds

ARROW_TYPES = {"VARCHAR": pa.string(), "DATE": pa.date32(), "DECIMAL(18,2)": pa.decimal128(18, 2)}
LINEAGE = [
    ("source_file", pa.string()),
    ("source_sha256", pa.string()),
    ("source_line", pa.int64()),
    ("received_at", pa.timestamp("us")),
    ("return_period", pa.string()),
]
LEDGER = pa.schema(
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
        ("source_mtime_ns", pa.int64()),
        ("pending", pa.bool_()),
    ]
)
FINDINGS = pa.schema(
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


def table_schema(table: str) -> pa.Schema:
    """Arrow schema of a raw table version file: contract columns, typed, then lineage."""
    columns = [(c.name, ARROW_TYPES[c.sql_type]) for c in TABLES[table].columns]
    return pa.schema(columns + LINEAGE)


def _typed(value, arrow_type: pa.DataType):
    if value is None or value == "":
        return None
    if pa.types.is_date32(arrow_type) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if pa.types.is_decimal(arrow_type):
        return Decimal(str(value))
    return value


@dataclass
class RawLayer:
    """A raw layer under ``paths.raw`` built event by event, like the ingest would."""

    paths: DataPaths
    ledgers: dict[str, list[dict]] = field(default_factory=dict)
    clock: dt.datetime = dt.datetime(2025, 5, 1, 9, 0)

    def __post_init__(self) -> None:
        for table in TABLES:
            self._write(table_schema(table).empty_table(), self.paths.raw / table / "_schema" / "empty.parquet")
        self._write(LEDGER.empty_table(), self.paths.raw / "submissions" / "_schema" / "empty.parquet")
        self._write(FINDINGS.empty_table(), self.paths.raw / "findings" / "_schema" / "empty.parquet")

    @staticmethod
    def _write(table: pa.Table, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)

    def _next_received(self, received_at: dt.datetime | None) -> dt.datetime:
        self.clock = received_at or self.clock + dt.timedelta(hours=1)
        return self.clock

    def load(
        self,
        la: str,
        table: str,
        period: str,
        rows: list[dict],
        *,
        received_at: dt.datetime | None = None,
        rejected: list[dict] | None = None,
        pending: bool = False,
    ) -> str:
        """An accepted file: writes its version (rows get la_code and lineage) and a ``loaded``
        event. ``rejected`` rows become row_rejected findings (dicts with line, column_name,
        value, message). ``pending``: its blocking checks have not passed yet. Returns the version's SHA-256."""
        received = self._next_received(received_at)
        sha = hashlib.sha256(json.dumps([la, table, period, rows], default=str).encode()).hexdigest()
        source_file = f"{la}_{table}_{period}.csv"
        rejected = rejected or []
        schema = table_schema(table)
        lineage = {"source_file": source_file, "source_sha256": sha, "received_at": received, "return_period": period}
        records = [
            {name: _typed(value, schema.field(name).type) for name, value in {"la_code": la, **row}.items()}
            | lineage
            | {"source_line": i}
            for i, row in enumerate(rows, start=2)
        ]
        self._write(
            pa.Table.from_pylist(records, schema=schema), self.paths.raw / table / la / f"{period}__{sha}.parquet"
        )
        findings = [
            {
                "la_code": la,
                "table_name": table,
                "return_period": period,
                "source_file": source_file,
                "source_sha256": sha,
                "received_at": received,
                "severity": "row_rejected",
                "rule_code": "TEST",
            }
            | finding
            for finding in rejected
        ]
        findings_path = self.paths.raw / "findings" / la / f"{received:%Y%m%dT%H%M%S%fZ}__{sha}.parquet"
        self._write(pa.Table.from_pylist(findings, schema=FINDINGS), findings_path)
        self._event(
            la,
            table,
            period,
            source_file,
            sha,
            received,
            "loaded",
            rows_in=len(rows) + len(rejected),
            rows_loaded=len(rows),
            rows_rejected=len(rejected),
            pending=pending,
        )
        self.write_ledger(la)
        return sha

    def resubmit(
        self,
        la: str,
        table: str,
        period: str,
        sha: str,
        outcome: str,
        *,
        received_at: dt.datetime | None = None,
        reason: str | None = None,
    ) -> None:
        """A ledger-only event, as the ingest records it (no rows of its own): ``unchanged`` or
        ``reverted`` (a file identical to a version already loaded, ``sha``), or ``rejected``."""
        received = self._next_received(received_at)
        self._event(
            la,
            table,
            period,
            f"{la}_{table}_{period}.csv",
            sha,
            received,
            outcome,
            rows_in=0,
            rows_loaded=0,
            rows_rejected=0,
            reason=reason,
        )
        self.write_ledger(la)

    def _event(
        self,
        la,
        table,
        period,
        source_file,
        sha,
        received,
        outcome,
        *,
        rows_in,
        rows_loaded,
        rows_rejected,
        reason=None,
        pending=False,
    ) -> None:
        self.ledgers.setdefault(la, []).append(
            {
                "la_code": la,
                "table_name": table,
                "return_period": period,
                "source_file": source_file,
                "source_sha256": sha,
                "received_at": received,
                "outcome": outcome,
                "rows_in": rows_in,
                "rows_loaded": rows_loaded,
                "rows_rejected": rows_rejected,
                "warnings": 0,
                "reason": reason,
                "source_mtime_ns": None,
                "pending": pending,
            }
        )

    def write_ledger(self, la: str) -> None:
        self._write(
            pa.Table.from_pylist(self.ledgers[la], schema=LEDGER), self.paths.raw / "submissions" / f"{la}.parquet"
        )


def copy_dbt_project(target: Path, programme_cohorts_csv: str | None = None) -> Path:
    """A copy of the dbt project with the contract seeds written (no target/ or logs/), so test
    runs share no dbt folder with anyone. ``programme_cohorts_csv`` replaces that seed."""
    shutil.copytree(
        DBT_PROJECT_DIR, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml")
    )
    write_contract_seeds(target / "seeds")
    if programme_cohorts_csv is not None:
        (target / "seeds" / "programme_cohorts.csv").write_text(programme_cohorts_csv, encoding="utf-8")
    return target


def run_dbt(project_dir: Path, paths: DataPaths, *args: str) -> subprocess.CompletedProcess:
    """Run ``dbt <args>`` on ``project_dir`` with the warehouse and raw layer under ``paths``."""
    paths.root.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-c",
        "from dbt.cli.main import cli; cli()",
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--vars",
        json.dumps({"data_dir": str(paths.root)}),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBV_")}
    return subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True)
