"""Reading the warehouse for the playbook (read-only), and where the playbook writes its files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..public.dfe_ehcp import provenance_text, read_provenance
from ..reporting import returns_synthetic
from ..settings import DataPaths
from ..warehouse.reader import Warehouse

MANIFEST = "manifest.json"  # content hashes of an output folder's files, as last written


@dataclass(frozen=True)
class PlaybookPaths:
    """Output folders under ``reports/playbook``: one per asset."""

    root: Path

    @classmethod
    def of(cls, paths: DataPaths) -> PlaybookPaths:
        return cls(paths.reports / "playbook")

    @property
    def forecasts(self) -> Path:
        return self.root / "forecasts"

    @property
    def outcome_indicators(self) -> Path:
        return self.root / "outcome_indicators"

    @property
    def evaluation(self) -> Path:
        return self.root / "evaluation"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def exports(self) -> Path:
        return self.root / "exports"


@dataclass(frozen=True)
class Provenance:
    """Whether the LA returns and the programme cohort are synthetic, and where the public data came from."""

    returns_synthetic: bool
    cohort_synthetic: bool
    public_data: str  # releases, their dates and when they were loaded (dfe_ehcp.provenance_text)

    @property
    def synthetic(self) -> bool:
        return self.returns_synthetic or self.cohort_synthetic

    def columns(self) -> dict[str, object]:
        """The columns every exported table carries."""
        return {
            "returns_synthetic": self.returns_synthetic,
            "cohort_synthetic": self.cohort_synthetic,
            "public_data_source": self.public_data,
        }

    def sentences(self) -> list[str]:
        return [
            "LA returns: SYNTHETIC (generated sample, not real LA figures)."
            if self.returns_synthetic
            else "LA returns: as submitted by the LAs.",
            "Programme cohort: SYNTHETIC (not the programme's list of LAs)."
            if self.cohort_synthetic
            else "Programme cohort: the programme's list (seed programme_cohorts).",
            f"Public data: {self.public_data}",
        ]


def provenance(paths: DataPaths, warehouse: Warehouse) -> Provenance:
    """Returns are synthetic as ``reporting.returns_synthetic`` says (the sample's README_SYNTHETIC.txt in
    landing); the cohort if dim_la says it comes from the synthetic sample (cohort_source); the public data
    as provenance.json says."""
    cohort = warehouse.has_table("marts", "dim_la") and bool(
        warehouse.query("select count(*) as n from marts.dim_la where cohort_source = 'synthetic'").n.iloc[0]
    )
    return Provenance(returns_synthetic(paths.landing), cohort, provenance_text(read_provenance(paths.public)))


def write_table(frame: pd.DataFrame, folder: Path, name: str, source: Provenance | None = None) -> dict[str, Path]:
    """Write ``frame`` as ``name``.parquet and ``name``.csv in ``folder`` (with ``source``'s columns)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.assign(**source.columns()) if source else frame
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    frame.to_parquet(parquet, index=False)
    frame.to_csv(csv, index=False)
    return {"parquet": parquet, "csv": csv}


def write_note(folder: Path, text: str | None) -> None:
    """Write NOTE.txt (why an output is empty), or remove a stale one when ``text`` is None."""
    note = folder / "NOTE.txt"
    if text is None:
        note.unlink(missing_ok=True)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        note.write_text(text + "\n", encoding="utf-8")


def read_output(folder: Path, name: str) -> pd.DataFrame:
    """A table written by ``write_table`` (an empty frame if it is not there)."""
    path = folder / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def read_manifest(folder: Path) -> dict[str, str]:
    """The content hash of each file of ``folder`` as last written (empty if there is no readable manifest)."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def is_stale(previous: dict[str, str], key: str, digest: str, *files: Path) -> bool:
    """Whether an output must be written: its content hash differs from the manifest's, or a file is missing."""
    return previous.get(key) != digest or not all(f.exists() for f in files)


def write_manifest(folder: Path, hashes: dict[str, str]) -> None:
    (folder / MANIFEST).write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
