"""Make the dbt project ready to load: contract seeds written and ``target/manifest.json`` current.

``DbtProject.prepare_if_dev`` only acts under ``dagster dev``; this runs everywhere (Dagster
definitions, tests, CI), and re-parses only when a project file is newer than the manifest.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster_dbt import DbtProject

from ..settings import DBT_PROJECT_DIR
from .seeds import write_contract_seeds

PROJECT_FILE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv"}
SKIPPED_DIRS = {"target", "logs", "dbt_packages"}


class DbtParseError(RuntimeError):
    """``dbt parse`` failed."""


def _latest_project_change(project_dir: Path) -> float:
    latest = 0.0
    for folder, subfolders, files in os.walk(project_dir):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRS]  # not into dbt's output
        for name in files:
            if Path(name).suffix in PROJECT_FILE_SUFFIXES:
                latest = max(latest, os.stat(os.path.join(folder, name)).st_mtime)
    return latest


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _latest_project_change(project.project_dir)


def parse(project: DbtProject) -> None:
    """Run ``dbt parse`` in-process, writing the project's manifest."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([
        "parse", "--quiet",
        "--project-dir", str(project.project_dir),
        "--profiles-dir", str(project.profiles_dir),
        "--target-path", str(project.project_dir / project.target_path),
    ])
    if not result.success:
        raise DbtParseError(f"dbt parse failed for {project.project_dir}: {result.exception}")


def prepare_dbt_project(project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    """Write the contract seeds, then ``dbt parse`` if the manifest is missing or stale."""
    write_contract_seeds(project_dir / "seeds")
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    if manifest_is_stale(project):
        parse(project)
    return project


if __name__ == "__main__":
    prepare_dbt_project()
