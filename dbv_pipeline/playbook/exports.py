"""Every playbook table as CSV and Parquet, and one XLSX workbook for analysts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..settings import DataPaths
from .data import PlaybookPaths, Warehouse, read_output, write_table

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


def collect(paths: DataPaths) -> dict[str, pd.DataFrame]:
    """The tables to export: the playbook marts (read-only) and the Python assets' outputs."""
    warehouse, out = Warehouse(paths.warehouse), PlaybookPaths.of(paths)
    tables = {}
    for name in WAREHOUSE_TABLES:
        frame = warehouse.table("playbook", name)
        if frame is not None:
            tables[name] = frame
    for folder, names in OUTPUT_TABLES.items():
        for name in names:
            tables[name] = read_output(getattr(out, folder), name)
    return tables


def write_exports(tables: dict[str, pd.DataFrame], folder: Path, *, synthetic: bool) -> dict[str, int]:
    """CSV and Parquet per table and the workbook (README sheet first). Returns rows per table."""
    for name, frame in tables.items():
        write_table(frame, folder, name)
    readme = pd.DataFrame({"DBV in SEND playbook export": [
        "SYNTHETIC DATA: generated sample, not real local authority figures." if synthetic else "Pipeline data.",
        "Year alignment: year Y = January census of Y = the twelve months to it = financial year (Y-1)-(Y).",
        "Metric labels, units and year bases: sheet metric_catalogue. Method: docs/playbook.md.",
        "pb_benchmarks (rank and percentile per comparison) is too long for a sheet: see pb_benchmarks.csv "
        "or .parquet; sheet benchmark_labels has its sentences.",
        "Forecasts are trend projections with 80% and 95% bands (docs/forecast_method.md); the evaluation is "
        "observational evidence, not causal.",
    ]})
    with pd.ExcelWriter(folder / WORKBOOK, engine="openpyxl") as writer:
        readme.to_excel(writer, sheet_name="README", index=False)
        for name, frame in tables.items():
            if name not in NOT_IN_WORKBOOK:
                frame.to_excel(writer, sheet_name=SHEET_NAMES.get(name, name)[:31], index=False)
    return {name: len(frame) for name, frame in tables.items()}
