"""The dbt project as Dagster assets: seeds, staging, intermediate and marts, with dbt tests as
asset checks. One ``dbt build`` at a time writes the warehouse (pool ``warehouse_writer``)."""

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from pydantic import Field

from ..ingest.raw_store import RawStore
from ..settings import DataPaths

WAREHOUSE_POOL = "warehouse_writer"
# dbt's run artefacts that Dagster does not read: manifest.json and run_results.json written again
# after every build, and a debug log file of every event (the step's own log keeps dbt's events and
# errors). Skipping them saves about 2 s a build; dbt's partial-parse state is still written.
QUIET_BUILD = ["--no-write-json", "--log-level-file", "none"]

# Rebuild after any upstream update (an LA's ingest partition, public data, a seed). Unlike plain
# eager(), do not wait for missing upstream partitions: LAs that have not submitted stay missing.
REFRESH_ON_UPSTREAM_UPDATE = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


class DbvTranslator(DagsterDbtTranslator):
    """dbt sources keep their own keys (``raw/<table>``, ``public/<table>``); the warehouse's
    models are ``warehouse/<model>`` and seeds ``warehouse/reference/<seed>``."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        resource_type = dbt_resource_props["resource_type"]
        name = dbt_resource_props["name"]
        if resource_type == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], name])
        if resource_type == "seed":
            return dg.AssetKey(["warehouse", "reference", name])
        return dg.AssetKey(["warehouse", name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        # fqn: [project, layer folder, ..., model name] → staging, intermediate or marts
        return dbt_resource_props["fqn"][1]

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return REFRESH_ON_UPSTREAM_UPDATE


class WarehouseBuildConfig(dg.Config):
    """Run config of the warehouse's dbt build."""

    full_refresh: bool = Field(default=False, description=(
        "Rebuild every LA of the per-LA incremental models (dbt build --full-refresh): needed after "
        "changing their SQL or first_census_year. Otherwise a build redoes only the LAs whose "
        "placements version changed."))


def warehouse_assets(project: DbtProject) -> dg.AssetsDefinition:
    """The dbt assets of ``project`` (its manifest must exist: see ``prepare_dbt_project``)."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=DbvTranslator(),
        pool=WAREHOUSE_POOL,
    )
    def warehouse_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: WarehouseBuildConfig):
        """``dbt build`` against the data folder of DBV_DATA_DIR (made absolute for dbt's sources and
        profile). The raw layer's empty schema files are ensured first, so a build before any ingest
        works. The placements chain is incremental per LA (dbt_project/macros/incremental_by_la.sql)."""
        # A subset run (one model clicked in the UI) runs only the tests whose parents all run,
        # not a relationships test of an unselected model pointing at a selected one.
        os.environ.setdefault("DBT_INDIRECT_SELECTION", "cautious")
        paths = DataPaths.from_env()
        RawStore(paths).ensure_schemas()
        os.environ["DBV_DATA_DIR"] = str(paths.root)
        refresh = ["--full-refresh"] if config.full_refresh else []
        yield from dbt.cli(["build", *refresh, *QUIET_BUILD], context=context, target_path=build_target(project)).stream()

    return warehouse_dbt_assets


def build_target(project: DbtProject) -> Path:
    """Where builds write: the project's own target folder. Builds run one at a time (pool
    ``warehouse_writer``), so each reuses and updates dbt's parse state there (a build in another data
    folder than ``make setup``'s would otherwise re-parse the whole project, 8 s), and the compiled SQL
    of the last build is there to read. dagster-dbt's default, a new folder per build, grew by about
    10 MB a build without limit."""
    return project.project_dir / project.target_path


def dbt_resource(project: DbtProject) -> DbtCliResource:
    """The dbt CLI resource, running the dbt installed beside this Python (else dbt on PATH)."""
    beside_python = Path(sys.executable).with_name("dbt")
    executable = str(beside_python) if beside_python.exists() else "dbt"
    return DbtCliResource(project_dir=project, dbt_executable=executable)
