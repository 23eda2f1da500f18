"""Test harness: a small synthetic warehouse with the playbook built on it (the session fixture
``playbook_sample`` in conftest.py builds it once per test session).

Synthetic returns for a few LAs (DBV tranches, Safety Valve, neither; most of them statistical
neighbours of Barnet, 302) → ingest → DfE release (if ../shared has it, else empty public tables) →
``dbt build`` on a copy of the project → every playbook asset with ``dg.materialize``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from dbv_pipeline.public import dfe_ehcp
from dbv_pipeline.settings import PROJECT_ROOT, DataPaths, PipelineSettings

from .warehouse import copy_dbt_project, run_dbt

# Barnet (DBV tranche 1) and six of its statistical neighbours, plus two more LAs.
SAMPLE_LAS = ["302", "320", "870", "310", "317", "315", "306", "212", "205"]
SAMPLE_MULTIPLIER = 0.05
SHARED_RELEASE = PROJECT_ROOT.parent / "shared" / "data" / "dfe_ehcp" / "education-health-and-care-plans_2025.zip"


@dataclass(frozen=True)
class PlaybookSample:
    paths: DataPaths
    project_dir: Path
    has_public_data: bool
    result: dg.ExecuteInProcessResult  # the materialisation of every playbook asset


def build_playbook_sample(root: Path) -> PlaybookSample:
    """Build the sample under ``root``."""
    from dbv_pipeline.assurance.data import assure_pending
    from dbv_pipeline.ingest import ingest_landing
    from dbv_pipeline.playbook.assets import PLAYBOOK_ASSETS
    from dbv_pipeline.sample import build_cohort, cohort_csv, generate_sample

    paths = DataPaths(root / "data")
    generate_sample(paths.landing, la_codes=SAMPLE_LAS, multiplier=SAMPLE_MULTIPLIER)
    ingest_landing(paths)
    assure_pending(paths)  # the raw checks a run makes: the versions become visible to dbt
    has_public = SHARED_RELEASE.exists()
    if has_public:
        dfe_ehcp.load_release(SHARED_RELEASE, paths.public)
    else:
        dfe_ehcp.write_empty(paths.public)
    project = copy_dbt_project(root / "dbt_project", cohort_csv(build_cohort()))
    built = run_dbt(project, paths, "build")
    if built.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{built.stdout[-5000:]}")
    result = dg.materialize(PLAYBOOK_ASSETS, resources={"settings": PipelineSettings(data_dir=str(paths.root))})
    return PlaybookSample(paths, project, has_public, result)
