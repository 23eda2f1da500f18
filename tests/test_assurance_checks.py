"""Dagster asset checks: GX errors block downstream assets, warnings do not; raw checks validate
the LAs of the run; mart checks read the warehouse read-only."""

from __future__ import annotations

import duckdb
import dagster as dg
import pytest

from dbv_pipeline.assurance import data
from dbv_pipeline.assurance import definitions as assurance
from dbv_pipeline.assurance.checks import MART_CHECKS, RAW_CHECKS, validate_raw
from dbv_pipeline.contract import CONTRACT
from dbv_pipeline.ingest import definitions as ingest
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.ingest.assets import la_partitions, raw_returns
from dbv_pipeline.settings import PipelineSettings
from tests.conftest import RECEIVED, placement, write_csv
from tests.test_assurance_gx_rules import HNB, mart


def downstream_of(*keys: list[str]) -> list[dg.AssetsDefinition]:
    """One asset downstream of each key, named after it."""
    def make(key):
        @dg.asset(name="after_" + "_".join(key), deps=[dg.AssetKey(key)])
        def _after():
            return None
        return _after
    return [make(k) for k in keys]


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


def materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_definitions_load_with_the_ingest_assets():
    defs = dg.Definitions.merge(ingest.defs, assurance.defs, dg.Definitions(resources={"settings": PipelineSettings()}))
    dg.Definitions.validate_loadable(defs)
    checks = defs.resolve_asset_graph().asset_check_keys
    assert {k.asset_key.to_user_string() for k in checks} == {
        "raw/placements", "raw/hnb_spend", "raw/dsg_plan", "raw/mitigations",
        "warehouse/fct_ehcp_census", "warehouse/fct_hnb_spend", "warehouse/fct_unit_cost", "warehouse/fct_dsg_balance"}
    assert all(c.blocking for c in RAW_CHECKS + MART_CHECKS for c in c.check_specs)


@pytest.fixture
def two_las(data_paths, resources):
    """LAs 869 and 870 landed; 869's hnb_spend has a negative (warning) line."""
    for la in ("869", "870"):
        write_csv(data_paths.landing / f"{la}_placements_2024-25.csv",
                  [placement(f"C{i:04d}", la_code=la) for i in range(1, 4)])
        write_csv(data_paths.landing / f"{la}_hnb_spend_2024-25.csv",
                  [{**HNB, "la_code": la}, {**HNB, "la_code": la, "provision_type": "CENTRAL", "spend_gbp": "-5000" if la == "869" else "5"}])
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(la_partitions.name, ["869", "870"])
    return data_paths, instance, resources


def run_raw(instance, resources, la: str):
    after = downstream_of(["raw", "placements"], ["raw", "hnb_spend"])
    return dg.materialize([raw_returns, *after, *RAW_CHECKS], instance=instance, resources=resources, partition_key=la,
                          raise_on_error=False)


def test_a_warning_fails_the_check_with_warn_and_does_not_block(two_las):
    paths, instance, resources = two_las
    result = run_raw(instance, resources, "869")
    checks = evaluations(result)
    assert not checks["raw/hnb_spend"].passed and checks["raw/hnb_spend"].severity == dg.AssetCheckSeverity.WARN
    assert checks["raw/hnb_spend"].metadata["warnings"].value == 1
    assert checks["raw/hnb_spend"].metadata["failures"].value[0]["rule_code"] == "W_NEGATIVE_SPEND"
    assert checks["raw/placements"].passed
    assert str(paths.reports / "data_docs" / "index.html") == checks["raw/placements"].metadata["data_docs"].value
    assert {"after_raw_placements", "after_raw_hnb_spend"} <= materialized(result)
    assert result.success


def test_an_error_blocks_downstream_and_only_the_runs_las_are_validated(two_las, monkeypatch):
    paths, instance, resources = two_las
    # Simulate a normaliser bug: the ingest accepts sex 'Q', which the stored GX suite does not.
    monkeypatch.setitem(CONTRACT.code_lists["sex"].codes, "Q", "not a real code")
    write_csv(paths.landing / "870_placements_2024-25.csv",
              [placement(f"C{i:04d}", la_code="870", sex="Q" if i == 3 else "F") for i in range(1, 4)])

    result = run_raw(instance, resources, "870")
    checks = evaluations(result)
    assert not checks["raw/placements"].passed and checks["raw/placements"].severity == dg.AssetCheckSeverity.ERROR
    assert "C_CODE" in {f["rule_code"] for f in checks["raw/placements"].metadata["failures"].value}
    assert "after_raw_placements" not in materialized(result)  # blocked
    assert "after_raw_hnb_spend" in materialized(result)  # other tables are not

    result = run_raw(instance, resources, "869")  # LA 869's run does not read LA 870
    assert evaluations(result)["raw/placements"].passed and "after_raw_placements" in materialized(result)


def test_raw_checks_validate_a_chunk_at_a_time_with_the_same_result(data_paths, monkeypatch):
    # A normaliser bug lets LA 870's sex 'Q' in (one file alone is ingested in this process, where the patch holds).
    monkeypatch.setitem(CONTRACT.code_lists["sex"].codes, "Q", "not a real code")
    write_csv(data_paths.landing / "870_placements_2024-25.csv", [placement(la_code="870", sex="Q")])
    ingest_landing(data_paths, received_at=RECEIVED)
    for la in ("869", "870", "871"):  # two negative (warning) lines per LA
        write_csv(data_paths.landing / f"{la}_hnb_spend_2024-25.csv", [{**HNB, "la_code": la}] + [
            {**HNB, "la_code": la, "provision_type": p, "spend_gbp": "-5"} for p in ("CENTRAL", "AP")])
        if la != "870":
            write_csv(data_paths.landing / f"{la}_placements_2024-25.csv", [placement(la_code=la)])
    ingest_landing(data_paths, received_at=RECEIVED)

    def summary(result):
        return result.rows, [(o.rule_code, o.success, o.unexpected_count, o.examples) for o in result.outcomes]

    whole = {t: validate_raw(data_paths, t, run_name="whole") for t in ("hnb_spend", "placements")}
    monkeypatch.setattr(data, "CHUNK_ROWS", 1)  # one version per chunk
    chunked = {t: validate_raw(data_paths, t, run_name="chunked") for t in ("hnb_spend", "placements")}
    assert {t: summary(r) for t, r in chunked.items()} == {t: summary(r) for t, r in whole.items()}
    [warning] = chunked["hnb_spend"].warnings
    assert warning.unexpected_count == 6 and len(warning.examples) == 5  # every failure counted, five shown
    [error] = chunked["placements"].errors
    assert error.rule_code == "C_CODE" and [e["la_code"] for e in error.examples] == ["870"]
    # One validation result (and Data Docs page) per suite and run, not per chunk.
    assert len(list((data_paths.reports / "gx_results" / "raw_hnb_spend").glob("chunked/*/*.json"))) == 1


def warehouse_assets(frames: dict, warehouse):
    """Stand-ins for the dbt marts: write each frame as marts.<name> in the warehouse."""
    def make(name):
        @dg.asset(key=["warehouse", name])
        def _mart():
            with duckdb.connect(str(warehouse)) as con:
                con.execute("CREATE SCHEMA IF NOT EXISTS marts")
                con.register("frame", frames[name])
                con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM frame")
        return _mart
    return [make(n) for n in frames]


def test_mart_checks_block_on_errors_and_warn_on_cross_source(data_paths, resources):
    census = mart("fct_ehcp_census").assign(la_code="869", primary_need=["ASD", "ASD"])  # duplicate grain: M_KEY
    hnb = mart("fct_hnb_spend").assign(spend_gbp=[0.0, 1e6])
    dsg = mart("fct_dsg_balance").assign(la_code="870", hnb_expenditure_gbp=[1.1e6, 5.2e7])  # 870 outturn 10% off
    frames = {"fct_ehcp_census": census, "fct_hnb_spend": hnb, "fct_dsg_balance": dsg,
              "fct_unit_cost": mart("fct_unit_cost")}
    marts = [["warehouse", n] for n in frames]
    result = dg.materialize([*warehouse_assets(frames, data_paths.warehouse), *downstream_of(*marts), *MART_CHECKS],
                            instance=dg.DagsterInstance.ephemeral(), resources=resources, raise_on_error=False)
    checks = evaluations(result)
    assert checks["warehouse/fct_ehcp_census"].severity == dg.AssetCheckSeverity.ERROR
    assert not checks["warehouse/fct_ehcp_census"].passed
    assert not checks["warehouse/fct_hnb_spend"].passed
    assert checks["warehouse/fct_hnb_spend"].severity == dg.AssetCheckSeverity.WARN
    assert [f["rule_code"] for f in checks["warehouse/fct_hnb_spend"].metadata["failures"].value] == ["W_HNB_VS_DSG"]
    assert checks["warehouse/fct_unit_cost"].passed and checks["warehouse/fct_dsg_balance"].passed
    done = materialized(result)
    assert "after_warehouse_fct_ehcp_census" not in done
    assert {"after_warehouse_fct_hnb_spend", "after_warehouse_fct_unit_cost", "after_warehouse_fct_dsg_balance"} <= done
