"""Make the dbt project ready to load, in ``make setup``: contract seeds written, ``target/manifest.json``
parsed with the deployment's dbt vars.

``DbtProject.prepare_if_dev`` only acts under ``dagster dev``; this runs in setup (and tests, CI), and
re-parses only when a project file is newer than the manifest. Loading the Dagster definitions writes
nothing: ``load_dbt_project`` fails with the fix when the manifest is missing or stale.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster_dbt import DbtProject

from ..contract import SPEC_PATH
from ..settings import DBT_PROJECT_DIR, PipelineSettings
from .seeds import write_contract_seeds

PROJECT_FILE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv"}
SKIPPED_DIRS = {"target", "logs", "dbt_packages"}
FIX = "run `make setup` (or `python -m dbv_pipeline.warehouse.prepare`)"


class DbtParseError(RuntimeError):
    """``dbt parse`` failed."""


class DbtProjectNotPrepared(RuntimeError):
    """The dbt manifest is missing, or older than the project or the return contract."""


def _latest_project_change(project_dir: Path) -> float:
    latest = SPEC_PATH.stat().st_mtime  # the contract seeds derive from it
    for folder, subfolders, files in os.walk(project_dir):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRS]  # not into dbt's output
        for name in files:
            if Path(name).suffix in PROJECT_FILE_SUFFIXES:
                latest = max(latest, os.stat(os.path.join(folder, name)).st_mtime)
    return latest


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _latest_project_change(project.project_dir)


def parse(project: DbtProject, dbt_vars: list[str]) -> None:
    """Run ``dbt parse`` in-process, writing the project's manifest."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            "parse",
            "--quiet",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
            "--target-path",
            str(project.project_dir / project.target_path),
            *dbt_vars,
        ]
    )
    if not result.success:
        raise DbtParseError(f"dbt parse failed for {project.project_dir}: {result.exception}")


def load_dbt_project(project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    """The dbt project, whose manifest ``prepare_dbt_project`` made; writes nothing."""
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    if manifest_is_stale(project):
        state = "missing" if not project.manifest_path.exists() else "older than the dbt project or the return contract"
        raise DbtProjectNotPrepared(f"The dbt manifest {project.manifest_path} is {state}: {FIX}.")
    return project


def prepare_dbt_project(project_dir: Path = DBT_PROJECT_DIR, settings: PipelineSettings | None = None) -> DbtProject:
    """Write the contract seeds, then ``dbt parse`` (with the settings' dbt vars, as builds pass them)
    if the manifest is missing or stale."""
    from .assets import dbt_vars

    write_contract_seeds(project_dir / "seeds")
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    if manifest_is_stale(project):
        parse(project, dbt_vars(settings or PipelineSettings.from_env()))
    return project


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--print-vars"]:  # the dbt vars of the environment's settings, for dbt run by hand
        from .assets import dbt_vars

        print(dbt_vars(PipelineSettings.from_env())[1])
    else:
        from .assets import write_supervised_dbt

        prepare_dbt_project()
        write_supervised_dbt()
