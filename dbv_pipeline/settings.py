"""Where the pipeline keeps its files, and the settings a deployment chooses.

Every setting has an environment variable and a default (``SETTINGS_ENV``). Dagster assets, checks and
sensors get them from the ``settings`` resource (``PipelineSettings``), bound to those variables with
``dg.EnvVar`` so that a run reads them when it starts; tests pass the resource directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
SAMPLE_COHORTS_CSV = SEEDS_DIR / "programme_cohorts.csv"

# DfE's "Education, health and care plans" release, "Download all data" (zip) on
# explore-education-statistics (release version of June 2025; a later release has a new address).
DFE_EHCP_RELEASE_URL = "https://content.explore-education-statistics.service.gov.uk/api/releases/2e60aacd-d46c-416a-af4d-9d2269506ff6/files"
NO_RELEASE = "none"  # DBV_DFE_EHCP_SOURCE=none: run without DfE's public data
ENGINES = ("duckdb", "spark")  # DBV_WAREHOUSE_ENGINE: the dbt target the warehouse is built on


@dataclass(frozen=True)
class DataPaths:
    """The data folder layout: landing → raw (Parquet) → warehouse (DuckDB) → reports."""

    root: Path
    engine: str = "duckdb"  # the warehouse's engine (one of ENGINES)

    @classmethod
    def from_env(cls) -> DataPaths:
        """The data folder of ``DBV_DATA_DIR`` (default ``./data``) and the engine of ``DBV_WAREHOUSE_ENGINE``:
        for the command line, not for assets."""
        return cls(
            Path(os.environ.get("DBV_DATA_DIR", "data")).resolve(), os.environ.get("DBV_WAREHOUSE_ENGINE", "duckdb")
        )

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
    def warehouse_built(self) -> bool:
        """Whether the warehouse of the engine has been built (its file or folder exists)."""
        return (self.spark if self.engine == "spark" else self.warehouse).exists()

    @property
    def spark(self) -> Path:
        """The Spark warehouse: ``warehouse/`` (Parquet tables) and ``metastore_db/`` (its catalog)."""
        return self.root / "spark"

    @property
    def reports(self) -> Path:
        """Feedback reports for LAs, the playbook, exports."""
        return self.root / "reports"


class PipelineSettings(dg.ConfigurableResource):
    """The deployment's settings: data folder, DfE release, DuckDB limits for the warehouse build."""

    data_dir: str = Field(default="data", description="The data folder: landing, raw, quarantine, warehouse, reports.")
    dfe_ehcp_source: str = Field(
        default=DFE_EHCP_RELEASE_URL,
        description=("DfE's EHCP release: an http(s) address, a zip or a folder; 'none' for no public data."),
    )
    warehouse_engine: str = Field(
        default="duckdb",
        description=(
            "The engine the warehouse is built on and read from: 'duckdb' (one machine, the default) or 'spark' "
            "(dbt-spark, a local Spark session; docs/warehouse.md, Engines)."
        ),
    )
    spark_driver_memory: str = Field(default="1g", description="The local Spark driver's memory (engine 'spark').")
    duckdb_memory_limit: str = Field(default="768MB", description="DuckDB's memory cap for dbt builds (spills beyond).")
    duckdb_threads: int = Field(
        default=1, description="DuckDB threads per query in dbt builds (dbt runs two models at once)."
    )
    landing_settle_seconds: int = Field(
        default=60,
        description=(
            "A landing file is taken once its mtime is this many seconds old (a file being copied keeps changing it); "
            "0 takes files at once (for uploads that copy under a .part/.tmp name, then rename)."
        ),
    )

    @classmethod
    def from_env(cls) -> PipelineSettings:
        """The settings with the values of their environment variables now: for command-line tools."""
        return cls(**{name: os.environ[variable] for name, variable in SETTINGS_ENV.items() if variable in os.environ})

    @property
    def paths(self) -> DataPaths:
        if self.warehouse_engine not in ENGINES:
            raise ValueError(f"warehouse_engine must be one of {', '.join(ENGINES)}, not {self.warehouse_engine!r}")
        return DataPaths(Path(self.data_dir).resolve(), self.warehouse_engine)

    @property
    def release_source(self) -> str | None:
        """The configured DfE release, or None for none."""
        source = self.dfe_ehcp_source.strip()
        return None if source.lower() in ("", NO_RELEASE) else source


SETTINGS_ENV = {
    "data_dir": "DBV_DATA_DIR",
    "dfe_ehcp_source": "DBV_DFE_EHCP_SOURCE",
    "warehouse_engine": "DBV_WAREHOUSE_ENGINE",
    "spark_driver_memory": "DBV_SPARK_DRIVER_MEMORY",
    "duckdb_memory_limit": "DBV_DUCKDB_MEMORY_LIMIT",
    "duckdb_threads": "DBV_DUCKDB_THREADS",
    "landing_settle_seconds": "DBV_LANDING_SETTLE_SECONDS",
}


def settings_from_environment() -> PipelineSettings:
    """The settings resource with each setting bound to its environment variable where that is set
    (Dagster reads it when a run or sensor tick starts), else left at its default."""
    bound = {}
    for name, variable in SETTINGS_ENV.items():
        if variable in os.environ:
            bound[name] = (
                dg.EnvVar.int(variable) if name in ("duckdb_threads", "landing_settle_seconds") else dg.EnvVar(variable)
            )
    return PipelineSettings(**bound)
