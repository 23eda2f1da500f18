"""Test helper: a small synthetic warehouse with the playbook built on it, made once per process.

Synthetic returns for a few LAs (DBV tranches, Safety Valve, neither; most of them statistical
neighbours of Barnet, 302) → ingest → DfE release (if ../shared has it, else empty public tables) →
``dbt build`` on a copy of the project → every playbook asset with ``dg.materialize``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from ..public import dfe_ehcp
from ..public.assets import DEFAULT_SOURCE
from ..settings import DataPaths
from ..warehouse.testing import copy_dbt_project, run_dbt

# Barnet (DBV tranche 1) and six of its statistical neighbours, plus two more LAs.
SAMPLE_LAS = ["302", "320", "870", "310", "317", "315", "306", "212", "205"]
SAMPLE_MULTIPLIER = 0.05


@dataclass(frozen=True)
class PlaybookSample:
    paths: DataPaths
    project_dir: Path
    has_public_data: bool
    result: dg.ExecuteInProcessResult  # the materialisation of every playbook asset


_SAMPLE: PlaybookSample | None = None


def playbook_sample(root: Path) -> PlaybookSample:
    """Build the sample under ``root`` on the first call; later calls return the same sample."""
    global _SAMPLE
    if _SAMPLE is None:
        _SAMPLE = _build(root)
    return _SAMPLE


def _build(root: Path) -> PlaybookSample:
    from ..ingest import ingest_landing
    from ..sample import build_cohort, cohort_csv, generate_sample
    from .assets import PLAYBOOK_ASSETS

    paths = DataPaths(root / "data")
    generate_sample(paths.landing, la_codes=SAMPLE_LAS, multiplier=SAMPLE_MULTIPLIER)
    ingest_landing(paths)
    has_public = DEFAULT_SOURCE.exists()
    if has_public:
        dfe_ehcp.load_release(DEFAULT_SOURCE, paths.public)
    else:
        dfe_ehcp.write_empty(paths.public)
    project = copy_dbt_project(root / "dbt_project", cohort_csv(build_cohort()))
    built = run_dbt(project, paths, "build")
    if built.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{built.stdout[-5000:]}")
    previous = os.environ.get("DBV_DATA_DIR")
    os.environ["DBV_DATA_DIR"] = str(paths.root)
    try:
        result = dg.materialize(PLAYBOOK_ASSETS)
    finally:
        if previous is None:
            os.environ.pop("DBV_DATA_DIR")
        else:
            os.environ["DBV_DATA_DIR"] = previous
    return PlaybookSample(paths, project, has_public, result)
