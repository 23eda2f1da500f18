"""The warehouse as Dagster assets: keys, groups, pool, automation, dbt tests as asset checks,
loading beside the LA-partitioned ingest assets, and a run on a raw layer written by the ingest."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from dbv_pipeline.assurance.data import assure_pending
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.ingest.definitions import defs as ingest_defs
from dbv_pipeline.settings import SAMPLE_COHORTS_CSV, DataPaths, PipelineSettings
from dbv_pipeline.warehouse.assets import WAREHOUSE_POOL, dbt_resource, warehouse_assets
from dbv_pipeline.warehouse.prepare import (
    DbtProjectNotPrepared,
    load_dbt_project,
    manifest_is_stale,
    prepare_dbt_project,
)
from harness.warehouse import copy_dbt_project
from tests.conftest import placement, write_csv
from tests.test_warehouse_dbt import COHORTS


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A prepared copy of the dbt project (contract seeds written, manifest parsed)."""
    return prepare_dbt_project(copy_dbt_project(tmp_path_factory.mktemp("dagster_dbt") / "dbt_project", COHORTS))


@pytest.fixture(scope="module")
def assets(project):
    return warehouse_assets(project)


def own_keys(assets) -> list[dg.AssetKey]:
    """The warehouse's assets without the public-data models and the models over them (the playbook and
    fct_cross_source_checks: they need DfE files)."""
    over_public = ("pb_", "fct_cross_source_checks")
    return [key for key in assets.keys if "public" not in key.path[-1] and not key.path[-1].startswith(over_public)]


def test_prepare_parses_only_when_the_project_changed(project):
    assert project.manifest_path.exists() and not manifest_is_stale(project)
    model = project.project_dir / "models" / "marts" / "dim_need.sql"
    model.touch()
    assert manifest_is_stale(project)
    with pytest.raises(DbtProjectNotPrepared, match="make setup"):  # the definitions will not load a stale manifest
        load_dbt_project(project.project_dir)
    prepare_dbt_project(project.project_dir)
    assert not manifest_is_stale(project)
    assert load_dbt_project(project.project_dir).manifest_path == project.manifest_path


def test_keys_groups_pool_and_automation(assets):
    specs = {spec.key: spec for spec in assets.specs}
    census = specs[dg.AssetKey(["warehouse", "fct_ehcp_census"])]
    assert census.group_name == "marts" and census.automation_condition is not None
    assert census.freshness_policy is not None  # marts: warn after 35 days without a rebuild, fail after 95
    assert specs[dg.AssetKey(["warehouse", "stg_raw__placements"])].freshness_policy is None
    assert specs[dg.AssetKey(["warehouse", "stg_raw__placements"])].group_name == "staging"
    assert specs[dg.AssetKey(["warehouse", "int_census_plans"])].group_name == "intermediate"
    assert specs[dg.AssetKey(["warehouse", "reference", "code_provision_type"])].group_name == "reference"
    placements_deps = {dep.asset_key for dep in specs[dg.AssetKey(["warehouse", "stg_raw__placements"])].deps}
    assert dg.AssetKey(["raw", "placements"]) in placements_deps
    assert assets.op.pool == WAREHOUSE_POOL


def test_dbt_tests_are_asset_checks(assets):
    checks = {(key.asset_key.path[-1], key.name) for key in assets.check_keys}
    assert ("fct_ehcp_flows", "assert_flows_reconcile_to_census") in checks
    assert ("fct_ehcp_census", "assert_census_within_distinct_plans") in checks
    assert ("stg_raw__placements", "assert_staged_placements_reconcile_to_ledger") in checks
    assert any(asset == "fct_ehcp_census" and name.startswith("relationships_") for asset, name in checks)


def test_definitions_load_beside_the_partitioned_ingest(project, assets):
    defs = dg.Definitions.merge(
        ingest_defs,
        dg.Definitions(assets=[assets], resources={"dbt": dbt_resource(project), "settings": PipelineSettings()}),
    )
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    raw = dg.AssetKey(["raw", "placements"])
    assert graph.get(raw).partitions_def is not None
    assert raw in graph.get(dg.AssetKey(["warehouse", "stg_raw__placements"])).parent_keys


@pytest.mark.skipif(not SAMPLE_COHORTS_CSV.exists(), reason="seeds/programme_cohorts.csv not written yet")
def test_repository_definitions_load():
    from dbv_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)


def test_dagster_run_on_ingested_returns(project, assets, tmp_path):
    paths = DataPaths(tmp_path / "data")
    received = dt.datetime(2025, 5, 1, 9, 0)
    first = [placement("C0001"), placement("C0002", sex="Q"), placement("C0003")]  # one row rejected
    write_csv(paths.landing / "869_placements_2024-25.csv", first)
    ingest_landing(paths, received_at=received)
    write_csv(paths.landing / "869_placements_2024-25.csv", [placement("C0001")])
    ingest_landing(paths, received_at=received + dt.timedelta(days=1))
    write_csv(paths.landing / "869_placements_2024-25.csv", first)  # a revert to the first version
    ingest_landing(paths, received_at=received + dt.timedelta(days=2))
    assert all(r.passed for r in assure_pending(paths).values())  # the raw checks a run makes before dbt sees them

    settings = PipelineSettings(data_dir=str(paths.root))
    result = dg.materialize(
        [assets], resources={"dbt": dbt_resource(project), "settings": settings}, selection=own_keys(assets)
    )
    assert result.success
    # the build wrote into the project's target folder (no new folder a build) and kept dbt's parse state there
    target = project.project_dir / project.target_path
    assert not [p.name for p in target.iterdir() if p.name.startswith("warehouse_dbt_assets")]
    assert (target / "partial_parse.msgpack").exists() and (target / "compiled").is_dir()
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        total = con.sql("select sum(ehcp_count) from marts.fct_ehcp_census where census_year = 2025").fetchone()
        census_rows = con.sql("select count(*) from marts.fct_ehcp_census").fetchone()[0]
    assert total == (2,)  # C0001 and C0003 of the reverted-to version
    # Dagster's standard table metadata, read after the build: row count (tables) and column schema.
    metadata = {e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert metadata["fct_ehcp_census"]["dagster/row_count"].value == census_rows > 0
    columns = {c.name: c.type for c in metadata["fct_ehcp_census"]["dagster/column_schema"].value.columns}
    assert columns["la_code"] == "VARCHAR" and "ehcp_count" in columns
    assert "dagster/row_count" not in metadata["stg_raw__hnb_spend"]  # a view: not run to count it
    assert "dagster/column_schema" in metadata["stg_raw__hnb_spend"]
