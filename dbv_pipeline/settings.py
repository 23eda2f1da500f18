"""Where the pipeline keeps its files. One root folder (``DBV_DATA_DIR``, default ``./data``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
SAMPLE_COHORTS_CSV = SEEDS_DIR / "programme_cohorts.csv"


@dataclass(frozen=True)
class DataPaths:
    """The data folder layout: landing → raw (Parquet) → warehouse (DuckDB) → reports."""

    root: Path

    @classmethod
    def from_env(cls) -> "DataPaths":
        return cls(Path(os.environ.get("DBV_DATA_DIR", "data")).resolve())

    @property
    def landing(self) -> Path:
        """LA returns arrive here (CSV per table, or one XLSX workbook)."""
        return self.root / "landing"

    @property
    def raw(self) -> Path:
        """Typed raw layer: ``raw/<table>/<la_code>/<period>__<sha256>.parquet``."""
        return self.root / "raw"

    @property
    def quarantine(self) -> Path:
        """Rejected files, kept as received: ``quarantine/<la>/<received>__<file>``."""
        return self.root / "quarantine"

    @property
    def public(self) -> Path:
        """DfE public data, normalised to Parquet."""
        return self.root / "public"

    @property
    def warehouse(self) -> Path:
        """The DuckDB warehouse file (one writer at a time)."""
        return self.root / "warehouse.duckdb"

    @property
    def reports(self) -> Path:
        """Feedback reports for LAs, the playbook, exports."""
        return self.root / "reports"
