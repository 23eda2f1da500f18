"""Dagster asset checks: one GX validation per asset, reported as a blocking `conformance` check
(errors, severity ERROR) and a non-blocking `warnings` check (severity WARN); raw checks validate the
LAs of the run; mart checks read the warehouse read-only."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from dbv_pipeline.assurance import data
from dbv_pipeline.assurance import definitions as assurance
from dbv_pipeline.assurance.checks import (
    GROUPS,
    MART_CHECKS,
    RAW_CHECKS,
    group_result,
    mart_suites,
    suite_rules,
    validate_raw,
)
from dbv_pipeline.assurance.validate import load_suite_dict, validate
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
    """The run's check evaluations by "<asset>:<check>"."""
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


def materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_definitions_have_a_blocking_conformance_and_a_non_blocking_warnings_check():
    defs = dg.Definitions.merge(ingest.defs, assurance.defs, dg.Definitions(resources={"settings": PipelineSettings()}))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    specs = {k.to_user_string(): graph.get(k) for k in graph.asset_check_keys}
    assets = [
        "raw/placements",
        "raw/hnb_spend",
        "raw/dsg_plan",
        "raw/mitigations",
    ]  # marts have no conformance check: their rules (M_*) are dbt tests
    with_warnings = {
        "raw/hnb_spend",
        "raw/dsg_plan",
        "warehouse/fct_ehcp_census",
        "warehouse/fct_hnb_spend",
        "warehouse/fct_unit_cost",
    }
    assert set(specs) == (
        {f"{a}:conformance" for a in assets}
        | {f"{a}:warnings" for a in with_warnings}
        | {"raw/submissions:latest_files_accepted"}
    )
    for name, spec in specs.items():
        assert spec.blocking == name.endswith(":conformance"), name
        assert ("Blocks downstream" if spec.blocking else "Never blocks") in spec.description, name
    # The descriptions name the rules, as the suites hold them.
    assert "W_NEGATIVE_SPEND" in specs["raw/hnb_spend:warnings"].description
    assert all(
        code in specs["raw/placements:conformance"].description for code in suite_rules(["raw_placements"])["error"]
    )
    # A warnings check exactly where the suites hold warning rules; marts with a cross-source comparison only.
    assert {k.asset_key.to_user_string() for c in MART_CHECKS for k in c.check_keys} == {
        "warehouse/fct_ehcp_census",
        "warehouse/fct_hnb_spend",
        "warehouse/fct_unit_cost",
    }
    for check in RAW_CHECKS + MART_CHECKS:
        [asset] = {s.asset_key for s in check.check_specs}
        layer, name = asset.path
        suites = data.raw_suites(name) if layer == "raw" else mart_suites(name)
        assert any(s.name == "warnings" for s in check.check_specs) == bool(suite_rules(suites).get("warning")), asset


@pytest.fixture
def two_las(data_paths, resources):
    """LAs 869 and 870 landed; 869's hnb_spend has a negative (warning) line."""
    for la in ("869", "870"):
        write_csv(
            data_paths.landing / f"{la}_placements_2024-25.csv",
            [placement(f"C{i:04d}", la_code=la) for i in range(1, 4)],
        )
        write_csv(
            data_paths.landing / f"{la}_hnb_spend_2024-25.csv",
            [
                {**HNB, "la_code": la},
                {**HNB, "la_code": la, "provision_type": "CENTRAL", "spend_gbp": "-5000" if la == "869" else "5"},
            ],
        )
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(la_partitions.name, ["869", "870"])
    return data_paths, instance, resources


def run_raw(instance, resources, la: str):
    after = downstream_of(["raw", "placements"], ["raw", "hnb_spend"])
    return dg.materialize(
        [raw_returns, *after, *RAW_CHECKS],
        instance=instance,
        resources=resources,
        partition_key=la,
        raise_on_error=False,
    )


def test_a_warning_fails_only_the_warnings_check_with_warn_and_does_not_block(two_las):
    paths, instance, resources = two_las
    result = run_raw(instance, resources, "869")
    checks = evaluations(result)
    warned = checks["raw/hnb_spend:warnings"]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.description == "1 rule warned: W_NEGATIVE_SPEND (1 row, LA 869)"
    assert warned.metadata["warnings"].value == 1
    assert [f["rule_code"] for f in warned.metadata["failures"].value] == ["W_NEGATIVE_SPEND"]
    assert warned.metadata["rule_counts"].value["W_NEGATIVE_SPEND"] == {"expectations": 1, "failed": 1, "rows": 1}
    assert "W_NEGATIVE_SPEND" in warned.metadata["summary"].value
    conformance = checks["raw/hnb_spend:conformance"]
    assert conformance.passed and conformance.metadata["errors"].value == 0
    expectations = len(load_suite_dict("raw_hnb_spend")["expectations"]) - 1  # all but the warning
    assert conformance.description == f"Passed: {expectations} expectations over 2 rows of raw_hnb_spend"
    assert set(conformance.metadata["rule_counts"].value) == set(suite_rules(["raw_hnb_spend"])["error"])
    assert checks["raw/placements:conformance"].passed and "raw/placements:warnings" not in checks
    assert (
        str(paths.reports / "data_docs" / "index.html")
        == checks["raw/placements:conformance"].metadata["data_docs"].value
    )
    assert {"after_raw_placements", "after_raw_hnb_spend"} <= materialized(result)
    assert result.success


def test_an_error_fails_conformance_and_blocks_while_warnings_still_report(two_las, monkeypatch):
    paths, instance, resources = two_las
    # Simulate a normaliser bug: the ingest accepts spend_type 'ZZZ', which the stored GX suite does not.
    monkeypatch.setitem(CONTRACT.code_lists["spend_type"].codes, "ZZZ", "not a real code")
    write_csv(
        paths.landing / "870_hnb_spend_2024-25.csv",
        [
            {**HNB, "la_code": "870"},
            {**HNB, "la_code": "870", "spend_type": "ZZZ"},
            {**HNB, "la_code": "870", "provision_type": "CENTRAL", "spend_gbp": "-5"},
            {**HNB, "la_code": "870", "provision_type": "AP", "spend_gbp": "-7"},
        ],
    )

    result = run_raw(instance, resources, "870")
    checks = evaluations(result)
    failed = checks["raw/hnb_spend:conformance"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.description == "1 rule failed: C_CODE (1 row, LA 870)"
    assert [f["rule_code"] for f in failed.metadata["failures"].value] == ["C_CODE"]
    assert failed.metadata["rule_counts"].value["C_CODE"]["rows"] == 1
    warned = checks["raw/hnb_spend:warnings"]  # reported, in the same run
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.description == "1 rule warned: W_NEGATIVE_SPEND (2 rows, LA 870)"
    assert "after_raw_hnb_spend" not in materialized(result)  # blocked
    assert "after_raw_placements" in materialized(result)  # other tables are not
    assert checks["raw/placements:conformance"].passed
    assert not result.success

    result = run_raw(instance, resources, "869")  # LA 869's run does not read LA 870
    checks = evaluations(result)
    assert checks["raw/hnb_spend:conformance"].passed and "after_raw_hnb_spend" in materialized(result)
    assert checks["raw/hnb_spend:warnings"].description == "1 rule warned: W_NEGATIVE_SPEND (1 row, LA 869)"


def test_an_unpartitioned_run_validates_every_la(two_las):
    paths, instance, resources = two_las
    for la in ("869", "870"):
        run_raw(instance, resources, la)
    result = dg.materialize(
        [raw_returns, *RAW_CHECKS],
        instance=instance,
        resources=resources,
        selection=dg.AssetSelection.checks(dg.AssetCheckKey(dg.AssetKey(["raw", "hnb_spend"]), "warnings")),
        raise_on_error=False,
    )
    [warned] = result.get_asset_check_evaluations()  # only the selected check of the validation
    assert warned.check_name == "warnings" and warned.metadata["rows"].value == {"raw_hnb_spend": 4}
    assert warned.description == "1 rule warned: W_NEGATIVE_SPEND (1 row, LA 869)"


def test_raw_checks_validate_a_chunk_at_a_time_with_the_same_result(data_paths, monkeypatch):
    # A normaliser bug lets LA 870's sex 'Q' in (one file alone is ingested in this process, where the patch holds).
    monkeypatch.setitem(CONTRACT.code_lists["sex"].codes, "Q", "not a real code")
    write_csv(data_paths.landing / "870_placements_2024-25.csv", [placement(la_code="870", sex="Q")])
    ingest_landing(data_paths, received_at=RECEIVED)
    for la in ("869", "870", "871"):  # two negative (warning) lines per LA
        write_csv(
            data_paths.landing / f"{la}_hnb_spend_2024-25.csv",
            [{**HNB, "la_code": la}]
            + [{**HNB, "la_code": la, "provision_type": p, "spend_gbp": "-5"} for p in ("CENTRAL", "AP")],
        )
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


def test_an_expectation_that_raised_fails_conformance_whatever_its_severity(data_paths):
    write_csv(
        data_paths.landing / "869_hnb_spend_2024-25.csv", [HNB, {**HNB, "provision_type": "CENTRAL", "spend_gbp": "-5"}]
    )
    ingest_landing(data_paths, received_at=RECEIVED, workers=1)
    frame = data.read_raw(data_paths, "hnb_spend", data.current_files(data_paths, "hnb_spend"))
    result = validate({"raw_hnb_spend": frame.drop(columns=["spend_gbp"])})
    key = dg.AssetKey(["raw", "hnb_spend"])
    conformance, warnings = (group_result(result, GROUPS[name], key) for name in ("conformance", "warnings"))
    assert not conformance.passed and conformance.severity == dg.AssetCheckSeverity.ERROR
    assert 'W_NEGATIVE_SPEND (raised: The column "spend_gbp" in BatchData does not exist)' in conformance.description
    failed_rules = {o.rule_code for o in result.outcomes if o.blocking}
    assert conformance.description.startswith(f"{len(failed_rules)} rules failed: C_COLUMN (failed on spend_gbp); ")
    assert conformance.metadata["rule_counts"].value["W_NEGATIVE_SPEND"] == {"expectations": 1, "failed": 1, "rows": 0}
    # The warning could not be checked: its own check says so too, and does not pass.
    assert not warnings.passed and warnings.severity == dg.AssetCheckSeverity.WARN
    assert warnings.description.startswith("1 rule warned: W_NEGATIVE_SPEND (raised: ")


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


def test_mart_checks_warn_on_cross_source_and_leave_the_marts_rules_to_dbt(data_paths, resources):
    census = mart("fct_ehcp_census").assign(la_code="869", primary_need=["ASD", "ASD"])  # duplicate grain: dbt's M_KEY
    hnb = mart("fct_hnb_spend").assign(spend_gbp=[0.0, 1e6])
    dsg = mart("fct_dsg_balance").assign(la_code="870", hnb_expenditure_gbp=[1.1e6, 5.2e7])  # 870 outturn 10% off
    frames = {
        "fct_ehcp_census": census,
        "fct_hnb_spend": hnb,
        "fct_dsg_balance": dsg,
        "fct_unit_cost": mart("fct_unit_cost"),
    }
    marts = [["warehouse", n] for n in frames]
    result = dg.materialize(
        [*warehouse_assets(frames, data_paths.warehouse), *downstream_of(*marts), *MART_CHECKS],
        instance=dg.DagsterInstance.ephemeral(),
        resources=resources,
        raise_on_error=False,
    )
    checks = evaluations(result)
    assert not any(name.endswith(":conformance") for name in checks)  # GX does not check the marts' rules
    no_dfe = checks["warehouse/fct_ehcp_census:warnings"]  # no DfE caseload to compare with: nothing warned
    assert no_dfe.passed and no_dfe.description == "Passed: no rows to check (caseload_vs_dfe is empty)"
    warned = checks["warehouse/fct_hnb_spend:warnings"]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.description == "1 rule warned: W_HNB_VS_DSG (1 row, LA 870)"
    assert [f["rule_code"] for f in warned.metadata["failures"].value] == ["W_HNB_VS_DSG"]
    assert checks["warehouse/fct_unit_cost:warnings"].passed and "warehouse/fct_dsg_balance:warnings" not in checks
    done = materialized(result)  # warnings never block
    assert {f"after_warehouse_{m}" for m in frames} <= done
