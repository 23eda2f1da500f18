"""Shared fixtures: a throw-away data folder and builders for small, valid LA returns."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from dbv_pipeline.settings import DataPaths, PipelineSettings  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RECEIVED = dt.datetime(2025, 5, 1, 9, 0)

PLACEMENT_HEADER = [
    "la_code", "child_id", "date_of_birth", "sex", "primary_need", "ehcp_start_date", "ehcp_end_date",
    "cease_reason", "provision_type", "setting_urn", "placement_start_date", "placement_end_date", "annual_cost_gbp",
]


def placement(child: str = "C0001", **overrides: str) -> dict[str, str]:
    """One valid placements row for LA 869; override any column."""
    row = {
        "la_code": "869", "child_id": child, "date_of_birth": "2012-05-01", "sex": "F", "primary_need": "ASD",
        "ehcp_start_date": "2019-09-01", "ehcp_end_date": "", "cease_reason": "", "provision_type": "MSS",
        "setting_urn": "123456", "placement_start_date": "2019-09-01", "placement_end_date": "", "annual_cost_gbp": "25000",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = header or list(rows[0])
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header])
    return path


@pytest.fixture
def data_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    """An empty data folder, set as $DBV_DATA_DIR for the test."""
    monkeypatch.setenv("DBV_DATA_DIR", str(tmp_path / "data"))
    paths = DataPaths.from_env()
    paths.landing.mkdir(parents=True)
    return paths


@pytest.fixture
def settings(data_paths: DataPaths) -> PipelineSettings:
    """The pipeline's settings resource for the test's data folder, without DfE's public data; landing
    files are taken at once (no settle interval: tests write whole files)."""
    return PipelineSettings(data_dir=str(data_paths.root), dfe_ehcp_source="none", landing_settle_seconds=0)


@pytest.fixture
def resources(settings: PipelineSettings) -> dict:
    """Resources for ``dg.materialize`` of the pipeline's assets."""
    return {"settings": settings}


@pytest.fixture
def pipeline_defs(settings: PipelineSettings):
    """The pipeline's Dagster definitions with the test's settings."""
    from dbv_pipeline.definitions import build_defs

    return build_defs(settings)


@pytest.fixture
def shared_dfe() -> Path:
    folder = SHARED / "data" / "dfe_ehcp"
    if not folder.exists():
        pytest.skip("../shared/data/dfe_ehcp is not present")
    return folder
