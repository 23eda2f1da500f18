"""Every playbook table as CSV and Parquet, and one XLSX workbook for analysts.

Content-addressed: ``manifest.json`` keeps a hash of each table (its columns and rows, in any order),
so a rerun rewrites only the tables that changed, and the workbook only when one of its sheets did.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from ..settings import DataPaths
from .data import PlaybookPaths, Provenance, is_stale, read_manifest, read_output, write_manifest, write_table
from ..warehouse.reader import open_warehouse

WAREHOUSE_TABLES = ["pb_metric_catalogue", "pb_la_year_metrics", "pb_la_year_metrics_wide", "pb_group_stats",
                    "pb_benchmarks", "pb_benchmark_labels", "pb_outcome_indicators"]
OUTPUT_TABLES = {  # asset folder → tables it writes
    "forecasts": ["caseload_forecast", "unit_cost_forecast", "spend_forecast", "dsg_balance_forecast"],
    "evaluation": ["evaluation_summary", "evaluation_event_study"],
}
NOT_IN_WORKBOOK = {"pb_benchmarks"}  # one row per LA, metric, year and comparison: CSV/Parquet only
WORKBOOK = "dbv_playbook.xlsx"
SHEET_NAMES = {"pb_metric_catalogue": "metric_catalogue", "pb_la_year_metrics": "metrics_long",
               "pb_la_year_metrics_wide": "metrics_wide", "pb_group_stats": "group_stats",
               "pb_benchmark_labels": "benchmark_labels", "pb_outcome_indicators": "outcome_indicators"}
README_TITLE = "DBV in SEND playbook export"


@dataclass
class ExportSummary:
    rows: dict[str, int]  # rows per table
    written: list[str] = field(default_factory=list)  # tables (re)written as CSV and Parquet
    workbook_written: bool = False


def collect(paths: DataPaths) -> dict[str, pd.DataFrame]:
    """The tables to export: the playbook marts (read-only) and the Python assets' outputs."""
    warehouse, out = open_warehouse(paths), PlaybookPaths.of(paths)
    tables = {}
    for name in WAREHOUSE_TABLES:
        frame = warehouse.table("playbook", name)
        if frame is not None:
            tables[name] = frame
    for folder, names in OUTPUT_TABLES.items():
        for name in names:
            tables[name] = read_output(getattr(out, folder), name)
    return tables


def table_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's column names, dtypes and rows, whatever the order of the rows."""
    digest = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    return digest.hexdigest()


def sheet_name(table: str) -> str:
    return SHEET_NAMES.get(table, table)[:31]


def readme(source: Provenance) -> list[str]:
    return [
        "SYNTHETIC DATA: generated sample, not real local authority figures." if source.synthetic else "Pipeline data.",
        *source.sentences(),
        "Every table carries returns_synthetic, cohort_synthetic and public_data_source columns.",
        "Year alignment: year Y = January census of Y = the twelve months to it = financial year (Y-1)-(Y).",
        "Metric labels, units and year bases: sheet metric_catalogue. Method: docs/playbook.md.",
        "pb_benchmarks (rank and percentile per comparison) is too long for a sheet: see pb_benchmarks.csv "
        "or .parquet; sheet benchmark_labels has its sentences.",
        "Forecasts are trend projections with 80% and 95% bands (docs/forecast_method.md); the evaluation is "
        "observational evidence, not causal.",
    ]


def write_exports(tables: dict[str, pd.DataFrame], folder: Path, *, source: Provenance) -> ExportSummary:
    """CSV and Parquet per table and the workbook (README sheet first), each written only if its content
    differs from the last run's (``manifest.json``) or its file is missing. Every table gets the
    provenance columns (synthetic returns, synthetic cohort, public data source)."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {name: frame.assign(**source.columns()) for name, frame in tables.items()}
    previous = read_manifest(folder)
    hashes = {name: table_hash(frame) for name, frame in tables.items()}
    in_book = [name for name in tables if name not in NOT_IN_WORKBOOK]
    notes = readme(source)
    book = json.dumps([notes, [[sheet_name(n), hashes[n]] for n in in_book]])
    hashes[WORKBOOK] = hashlib.sha256(book.encode()).hexdigest()
    summary = ExportSummary(rows={name: len(frame) for name, frame in tables.items()})
    for name, frame in tables.items():
        files = [folder / f"{name}.{ext}" for ext in ("csv", "parquet")]
        if is_stale(previous, name, hashes[name], *files):
            write_table(frame, folder, name)
            summary.written.append(name)
    if is_stale(previous, WORKBOOK, hashes[WORKBOOK], folder / WORKBOOK):
        write_workbook(folder / WORKBOOK, {"README": pd.DataFrame({README_TITLE: notes}),
                                           **{sheet_name(n): tables[n] for n in in_book}})
        summary.workbook_written = True
    write_manifest(folder, hashes)
    return summary


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """One sheet per frame, the column names as its first row, missing values as empty cells (as
    ``DataFrame.to_excel``). xlsxwriter in constant-memory mode, strings written as they are: about three
    times as fast as pandas with openpyxl."""
    options = {"constant_memory": True, "strings_to_urls": False, "strings_to_formulas": False,
               "strings_to_numbers": False, "nan_inf_to_errors": True}
    with xlsxwriter.Workbook(str(path), options) as book:
        for name, frame in sheets.items():
            sheet = book.add_worksheet(name)
            sheet.write_row(0, 0, [str(c) for c in frame.columns])
            columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns]
            for row, cells in enumerate(zip(*columns), start=1):
                sheet.write_row(row, 0, cells)
