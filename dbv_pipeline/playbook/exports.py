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
from ..warehouse.reader import Warehouse, open_warehouse
from .data import PlaybookPaths, Provenance, is_stale, read_manifest, read_output, write_manifest, write_table

WAREHOUSE_TABLES = [
    "pb_metric_catalogue",
    "pb_la_year_metrics",
    "pb_la_year_metrics_wide",
    "pb_group_stats",
    "pb_benchmarks",
    "pb_benchmark_labels",
    "pb_outcome_indicators",
]
OUTPUT_TABLES = {  # asset folder → tables it writes
    "forecasts": ["caseload_forecast", "unit_cost_forecast", "spend_forecast", "dsg_balance_forecast"],
    "evaluation": ["evaluation_summary", "evaluation_event_study"],
}
NOT_IN_WORKBOOK = {"pb_benchmarks"}  # one row per LA, metric, year and comparison: CSV/Parquet only
WORKBOOK = "dbv_playbook.xlsx"
SHEET_NAMES = {
    "pb_metric_catalogue": "metric_catalogue",
    "pb_la_year_metrics": "metrics_long",
    "pb_la_year_metrics_wide": "metrics_wide",
    "pb_group_stats": "group_stats",
    "pb_benchmark_labels": "benchmark_labels",
    "pb_outcome_indicators": "outcome_indicators",
}
README_TITLE = "DBV in SEND playbook export"
# Who each LA is, beside every la_code (marts.dim_la, keyed by the same 3-digit la_code).
LA_DETAILS = ["la_name", "region_name", "programme", "tranche"]


@dataclass
class ExportSummary:
    rows: dict[str, int]  # rows per table
    written: list[str] = field(default_factory=list)  # tables (re)written as CSV and Parquet
    workbook_written: bool = False


def collect(paths: DataPaths, warehouse: Warehouse | None = None) -> dict[str, pd.DataFrame]:
    """The tables to export: the playbook marts (read-only, through ``warehouse`` or a reader opened and
    closed for them) and the Python assets' outputs, each with the LA's name, region, programme and
    tranche beside its la_code."""
    if warehouse is None:
        with open_warehouse(paths) as opened:
            return collect(paths, opened)
    out = PlaybookPaths.of(paths)
    tables = {}
    for name in WAREHOUSE_TABLES:
        if warehouse.has_table("playbook", name):  # a table not built yet is not exported
            tables[name] = warehouse.table("playbook", name)
    for folder, names in OUTPUT_TABLES.items():
        for name in names:
            tables[name] = read_output(getattr(out, folder), name)
    las = warehouse.table("marts", "dim_la", ["la_code", *LA_DETAILS])
    return {name: with_la_details(frame, las) for name, frame in tables.items()}


def with_la_details(frame: pd.DataFrame, las: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the LA details it lacks inserted after its ``la_code`` (rows kept, in order)."""
    missing = [c for c in las.columns if c != "la_code" and c not in frame.columns]
    if "la_code" not in frame.columns or not missing:
        return frame
    details = frame[["la_code"]].merge(las[["la_code", *missing]], on="la_code", how="left", validate="many_to_one")
    at = frame.columns.get_loc("la_code") + 1
    columns = [*frame.columns[:at], *missing, *frame.columns[at:]]
    return pd.concat([frame.reset_index(drop=True), details[missing]], axis=1)[columns]


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
        write_workbook(
            folder / WORKBOOK,
            {"README": pd.DataFrame({README_TITLE: notes}), **{sheet_name(n): tables[n] for n in in_book}},
        )
        summary.workbook_written = True
    write_manifest(folder, hashes)
    return summary


def decimals(column: pd.Series) -> int | None:
    """Decimal places a workbook shows for a column: None for a non-float column, 4 for one whose
    values are all below 1 in size (shares, p-values), else 2 (money, percentages, rates)."""
    if not pd.api.types.is_float_dtype(column):
        return None
    return 4 if column.abs().max() < 1 else 2


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """One sheet per frame, the column names as a frozen, filterable first row, missing values as empty
    cells, integers with thousands separators and decimals rounded (``decimals``; the CSV and Parquet
    keep full precision). xlsxwriter in constant-memory mode, strings written as they are: about three
    times as fast as pandas with openpyxl."""
    options = {
        "constant_memory": True,
        "strings_to_urls": False,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": True,
    }
    with xlsxwriter.Workbook(str(path), options) as book:
        header = book.add_format({"bold": True, "bottom": 1})
        formats = {
            None: None,
            0: book.add_format({"num_format": "#,##0"}),
            2: book.add_format({"num_format": "#,##0.00"}),
            4: book.add_format({"num_format": "0.0000"}),
        }
        for name, frame in sheets.items():
            sheet = book.add_worksheet(name)
            places = {
                c: 0
                if pd.api.types.is_integer_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
                else decimals(frame[c])
                for c in frame.columns
            }
            for index, column in enumerate(frame.columns):
                width = min(max(len(str(column)), 10) + 2, 18 if pd.api.types.is_numeric_dtype(frame[column]) else 60)
                sheet.set_column(index, index, width, formats[places[column]])
            sheet.write_row(0, 0, [str(c) for c in frame.columns], header)
            sheet.freeze_panes(1, 0)
            if len(frame.columns):
                sheet.autofilter(0, 0, len(frame), len(frame.columns) - 1)
            columns = [(frame[c].round(places[c]) if places[c] else frame[c]) for c in frame.columns]
            columns = [c.astype(object).where(c.notna(), None).tolist() for c in columns]
            for row, cells in enumerate(zip(*columns), start=1):
                sheet.write_row(row, 0, cells)
