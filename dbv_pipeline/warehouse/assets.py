"""The dbt project as Dagster assets: seeds, staging, intermediate and marts, with dbt tests as
asset checks. One ``dbt build`` at a time writes the warehouse (pool ``warehouse_writer``)."""

import datetime as dt
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from pydantic import Field

from ..automation import REFRESH_ON_UPSTREAM_UPDATE
from ..ingest.raw_store import RawStore
from ..settings import PipelineSettings
from .reader import Warehouse, open_warehouse

WAREHOUSE_POOL = "warehouse_writer"
# dbt's run artefacts that Dagster does not read: manifest.json and run_results.json written again
# after every build, and a debug log file of every event (the step's own log keeps dbt's events and
# errors). Skipping them saves about 2 s a build; dbt's partial-parse state is still written.
QUIET_BUILD = ["--no-write-json", "--log-level-file", "none"]
# DBV returns come in through the year, at least quarterly across the 55 LAs: marts not rebuilt in
# 35 days warn, in 95 days fail (no LA sent anything for a quarter, or automation is broken).
MARTS_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(days=95), warn_window=dt.timedelta(days=35))
COUNTED = {"table", "incremental", "seed"}  # relations whose rows are counted after a build (views are not run)


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

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest["nodes"][unique_id]))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.group_name == "marts":
            return spec.replace_attributes(freshness_policy=MARTS_FRESHNESS)
        return spec


def describe_test(test: Mapping[str, Any]) -> str:
    """A dbt test in plain words, for the UI: what it asserts and whether it only warns."""
    meta = test.get("test_metadata") or {}
    kwargs, column = meta.get("kwargs", {}), test.get("column_name")
    parent = re.sub(r"""^ref\(['"](.+)['"]\)$""", r"\1", str(kwargs.get("to", "")).strip())
    said = {
        "not_null": f"{column} is never null",
        "not_null_columns": "No nulls in " + ", ".join(kwargs.get("columns", [])),
        "unique": f"{column} is unique",
        "unique_combination_of_columns": "One row per " + ", ".join(kwargs.get("combination_of_columns", [])),
        "relationships": f"Every {column} is in {parent}.{kwargs.get('field')}",
        "accepted_values": f"{column} is one of: " + ", ".join(map(str, kwargs.get("values", []))),
        "expression_is_true": f"Every row: {kwargs.get('expression')}",
        "columns_exist": "Has the columns " + ", ".join(kwargs.get("columns", [])),
        "matches_regex": f"Every {column} matches {kwargs.get('regex')}",
        "at_least": f"No {column} is below {kwargs.get('min_value')}",
    }.get(meta.get("name"))
    test_meta = test.get("config", {}).get("meta") or test.get("meta") or {}
    dagster_meta = test_meta.get("dagster", {})
    said = said or dagster_meta.get("description") or test.get("description") or f"dbt test {test['name']}"
    if test_meta.get("rule_code"):  # an assurance rule whose home is dbt (docs/assurance.md)
        said += f", rule {test_meta['rule_code']}"
    severity = str(test.get("config", {}).get("severity", "error")).lower()
    return f"{said} ({'warns' if severity == 'warn' else 'fails the build'})"


class WarehouseBuildConfig(dg.Config):
    """Run config of the warehouse's dbt build."""

    full_refresh: bool = Field(
        default=False,
        description=(
            "Rebuild every LA of the per-LA incremental models (dbt build --full-refresh): needed after "
            "changing their SQL or first_census_year. Otherwise a build redoes only the LAs whose "
            "placements version changed."
        ),
    )


def warehouse_assets(project: DbtProject) -> dg.AssetsDefinition:
    """The dbt assets of ``project`` (its manifest must exist: see ``prepare_dbt_project``)."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=DbvTranslator(),
        pool=WAREHOUSE_POOL,
    )
    def warehouse_dbt_assets(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: PipelineSettings, config: WarehouseBuildConfig
    ):
        """``dbt build`` against the data folder of the settings (dbt vars, see ``dbt_vars``) on the
        settings' engine (dbt target ``warehouse_engine``). The raw layer's empty schema files are ensured
        first, so a build before any ingest works. The placements chain is incremental per LA
        (dbt_project/macros/incremental_by_la.sql)."""
        paths = settings.paths
        RawStore(paths).ensure_schemas()
        if paths.engine == "duckdb":
            wait_for_warehouse_lock(paths.warehouse, context.log)
        refresh = ["--full-refresh"] if config.full_refresh else []
        build = dbt.cli(
            ["build", "--target", paths.engine, *refresh, *QUIET_BUILD, *dbt_vars(settings)],
            context=context,
            target_path=build_target(project),
        )
        events = list(build.stream())  # the build ends (and lets go of the warehouse) before it is read
        with open_warehouse(paths, settings.spark_driver_memory) as warehouse:  # closed before the next build
            yield from with_table_metadata(events, build.manifest, warehouse)

    return warehouse_dbt_assets


def with_table_metadata(events: Iterable[Any], manifest: Mapping[str, Any], warehouse: Warehouse) -> Iterator[Any]:
    """The build's events, each model's and seed's output with Dagster's standard metadata read from the
    warehouse after the build: its column schema, and its row count if it is a table."""
    nodes = manifest["nodes"]
    columns: dict[tuple[str, str], list[dg.TableColumn]] = {}
    for schema, table, column, data_type in warehouse.columns():
        columns.setdefault((schema, table), []).append(dg.TableColumn(column, data_type))
    for event in events:
        node = (
            nodes.get(event.metadata.get("unique_id", dg.TextMetadataValue("")).value)
            if isinstance(event, dg.Output)
            else None
        )
        relation = (node["schema"], node["alias"]) if node else None
        if relation not in columns:
            yield event
            continue
        standard: dict[str, object] = {"dagster/column_schema": dg.TableSchema(columns=columns[relation])}
        if node["config"]["materialized"] in COUNTED:
            count = warehouse.query(f"select count(*) as n from {relation[0]}.{relation[1]}")
            standard["dagster/row_count"] = int(count.n.iloc[0])
        yield event.with_metadata({**event.metadata, **standard})


def dbt_vars(settings: PipelineSettings) -> list[str]:
    """The settings as dbt vars (data folder, DuckDB limits), the same at every build so that dbt's
    parse state is reused (``make setup`` parses with them too)."""
    values = {
        "data_dir": str(settings.paths.root),
        "duckdb_memory_limit": settings.duckdb_memory_limit,
        "duckdb_threads": settings.duckdb_threads,
        "spark_driver_memory": settings.spark_driver_memory,
    }
    return ["--vars", json.dumps(values, sort_keys=True)]


def build_target(project: DbtProject) -> Path:
    """Where builds write: the project's own target folder. Builds run one at a time (pool
    ``warehouse_writer``), so each reuses and updates dbt's parse state there (a build in another data
    folder than ``make setup``'s would otherwise re-parse the whole project, 8 s), and the compiled SQL
    of the last build is there to read. dagster-dbt's default, a new folder per build, grew by about
    10 MB a build without limit."""
    return project.project_dir / project.target_path


LOCK_WAITS = (5, 10, 20, 40, 60, 120)  # seconds between attempts to take the warehouse's write lock
SUPERVISED_DBT = "dbt-supervised"  # written beside this Python by `make setup` (write_supervised_dbt)


def wait_for_warehouse_lock(warehouse: Path, log: Any = None, waits: Iterable[float] = LOCK_WAITS) -> None:
    """Before a build: wait while another process holds the DuckDB warehouse's write lock ("Could not
    set lock", e.g. an analyst's write connection or a build that is still ending), retrying with a
    clear message; a dg.Failure naming the holder if it is still held after the waits."""
    import time

    message = ""
    for wait in [*waits, None]:
        try:
            duckdb.connect(str(warehouse)).close()
            return
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            message = str(error).split("\n")[0][:300]
        if wait is None:
            break
        if log:
            log.warning(f"The warehouse {warehouse.name} is locked by another process; waiting {wait} s ({message})")
        time.sleep(wait)
    raise dg.Failure(
        description=f"The warehouse {warehouse} stayed locked by another process: {message}. "
        "Close that connection (analysts open the warehouse read-only) and rerun."
    )


def write_supervised_dbt(folder: Path | None = None) -> Path:
    """A dbt executable that dies with the process that started it (Linux ``PR_SET_PDEATHSIG``): a
    killed run worker leaves no ``dbt build`` writing the warehouse unsupervised."""
    path = (folder or Path(sys.executable).parent) / SUPERVISED_DBT
    path.write_text(
        f"""#!{sys.executable}
\"\"\"dbt, killed (SIGKILL) when its parent process dies; written by dbv_pipeline.warehouse.assets.\"\"\"
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() == 1:  # the parent died before the signal was set: init adopted this process
    sys.exit(1)
from dbt.cli.main import cli
sys.argv[0] = "dbt"
cli()
""",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def dbt_resource(project: DbtProject) -> DbtCliResource:
    """The dbt CLI resource: the supervised dbt beside this Python (``make setup`` writes it), else the
    dbt beside this Python, else dbt on PATH."""
    for name in (SUPERVISED_DBT, "dbt"):
        beside_python = Path(sys.executable).with_name(name)
        if beside_python.exists():
            return DbtCliResource(project_dir=project, dbt_executable=str(beside_python))
    return DbtCliResource(project_dir=project, dbt_executable="dbt")
