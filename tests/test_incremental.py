"""Incrementality: a resubmission re-runs only its LA; a no-change rerun does nothing expensive."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from dbv_pipeline.ingest.assets import LEDGER_KEYS, la_partitions, landing_sensor
from dbv_pipeline.ingest.raw_store import RawStore
from dbv_pipeline.sample import generate_sample

LAS = ["869", "870", "871"]
ALL_LAS = {"dagster/asset_partition_range_start": "869", "dagster/asset_partition_range_end": "871"}
DBT_MART = dg.AssetKey(["warehouse", "fct_ehcp_census"])
PLAYBOOK_REPORT = dg.AssetKey(["playbook", "report"])


@pytest.fixture
def pipeline(data_paths, pipeline_defs):
    defs = pipeline_defs
    generate_sample(data_paths.landing, la_codes=LAS, multiplier=0.02, variations=False, xlsx_share=0)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(la_partitions.name, LAS)
        yield defs, instance


def ingest(defs, instance, **kwargs) -> dg.ExecuteInProcessResult:
    result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, **kwargs)
    assert result.success
    return result


def test_the_public_release_reloads_only_when_it_changes(tmp_path):
    """Nothing new, nothing runs: the release sensor asks for a reload once per new release file."""
    import os

    from dbv_pipeline.public.definitions import public_release_sensor
    from dbv_pipeline.settings import PipelineSettings

    release = tmp_path / "release.zip"
    release.write_bytes(b"first release")
    resources = {"settings": PipelineSettings(data_dir=str(tmp_path / "data"), dfe_ehcp_source=str(release))}
    with dg.instance_for_test() as instance:
        first = public_release_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert len(first.run_requests) == 1
        again = public_release_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
        )
        assert not again.run_requests
        release.write_bytes(b"the next release")
        os.utime(release, ns=(release.stat().st_atime_ns, release.stat().st_mtime_ns + 10**9))
        changed = public_release_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
        )
        assert len(changed.run_requests) == 1


def test_a_resubmission_reruns_only_its_la_and_no_change_reruns_nothing(pipeline, data_paths, resources):
    defs, instance = pipeline
    ingest(defs, instance, tags=ALL_LAS)
    store = RawStore(data_paths)
    ledger_files = {la: data_paths.raw / "submissions" / f"{la}.parquet" for la in LAS}
    events = {la: len(store.ledger(la).events) for la in LAS}
    written = {la: path.stat().st_mtime_ns for la, path in ledger_files.items()}
    sensor_cursor = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources)).cursor
    automation = dg.evaluate_automation_conditions(defs=defs, instance=instance)

    # No change: the sensor skips; ingesting every LA again reprocesses no file and materialises
    # nothing, so the warehouse is not requested.
    assert not landing_sensor(
        dg.build_sensor_context(instance=instance, resources=resources, cursor=sensor_cursor)
    ).run_requests
    rerun = ingest(defs, instance, tags=ALL_LAS)
    assert rerun.asset_materializations_for_node("raw_returns") == []
    assert {la: path.stat().st_mtime_ns for la, path in ledger_files.items()} == written
    automation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
    assert automation.get_num_requested(DBT_MART) == 0

    # An identical file resent and a file rejected outright: the ledger and findings are
    # materialised (for the feedback reports and the ledger check), no table is, and the warehouse
    # is not requested.
    resent = next(data_paths.landing.glob("869_placements_*.csv"))
    os.utime(resent, ns=(resent.stat().st_atime_ns, resent.stat().st_mtime_ns + 10**9))
    (data_paths.landing / "871_placements_2024-25.csv").write_text("la_code,child_id\n871,C0001\n")
    requests = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=sensor_cursor))
    assert sorted(r.partition_key for r in requests.run_requests) == ["869", "871"]
    sensor_cursor = requests.cursor
    for la in ("869", "871"):
        result = ingest(defs, instance, partition_key=la)
        assert {m.asset_key for m in result.asset_materializations_for_node("raw_returns")} == set(LEDGER_KEYS)
    assert [e["outcome"] for e in store.ledger("869").events[events["869"] :]] == ["unchanged"]
    assert store.ledger("871").events[-1]["outcome"] == "rejected"
    automation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
    assert automation.total_requested == 0
    events = {la: len(store.ledger(la).events) for la in LAS}
    written = {la: path.stat().st_mtime_ns for la, path in ledger_files.items()}

    # One LA resubmits: the sensor asks for its partition only, and only its ledger changes.
    placements = next(data_paths.landing.glob("870_placements_*.csv"))
    placements.write_text(placements.read_text().rstrip("\n").rsplit("\n", 1)[0] + "\n")  # the last row dropped
    requests = landing_sensor(
        dg.build_sensor_context(instance=instance, resources=resources, cursor=sensor_cursor)
    ).run_requests
    assert [r.partition_key for r in requests] == ["870"]
    resubmission = ingest(defs, instance, partition_key="870")
    assert {m.partition for m in resubmission.asset_materializations_for_node("raw_returns")} == {"870"}
    assert {la: len(store.ledger(la).events) for la in LAS} == {**events, "870": events["870"] + 1}
    assert [la for la, path in ledger_files.items() if path.stat().st_mtime_ns != written[la]] == ["870"]

    # ...and the warehouse is requested once, to take it in, with the playbook in the same tick (so
    # one run builds both: what bench/run.py measures as the warehouse run).
    automation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
    assert automation.get_num_requested(DBT_MART) == 1
    assert automation.get_num_requested(PLAYBOOK_REPORT) == 1


PLACEMENT_MARTS = [dg.AssetKey(["warehouse", m]) for m in ("fct_ehcp_census", "fct_ehcp_flows")]


def build_placement_marts(defs, instance, full_refresh: bool = False) -> None:
    """The warehouse job's dbt build, limited to the census and flow marts and what they are built from."""
    job = defs.resolve_job_def("warehouse_job")
    selection = dg.AssetSelection.assets(*PLACEMENT_MARTS).upstream().resolve(defs.resolve_asset_graph())
    config = {"ops": {"warehouse_dbt_assets": {"config": {"full_refresh": full_refresh}}}}
    subset = job.get_subset(asset_selection=selection & job.asset_layer.selected_asset_keys)
    assert subset.execute_in_process(instance=instance, run_config=config).success


def warehouse_rows(data_paths, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(data_paths.warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_a_resubmission_rebuilds_only_its_las_slice_of_the_warehouse(pipeline, data_paths):
    """The placements chain is incremental per LA: after 870 resubmits, a build rewrites 870's rows
    and leaves 869's and 871's as they were, as a marker planted in their rows shows; a full
    refresh rebuilds every LA."""
    import duckdb

    defs, instance = pipeline
    ingest(defs, instance, tags=ALL_LAS)
    build_placement_marts(defs, instance)
    totals_sql = "SELECT la_code, sum(ehcp_count) FROM marts.fct_ehcp_census GROUP BY la_code ORDER BY la_code"
    markers_sql = (
        "SELECT la_code, count(*) FILTER (WHERE annual_cost_gbp = 0.01) FROM intermediate.int_census_plans "
        "GROUP BY la_code ORDER BY la_code"
    )
    before = dict(warehouse_rows(data_paths, totals_sql))
    with duckdb.connect(str(data_paths.warehouse)) as con:  # a marker no build writes, in every LA's rows
        con.execute("UPDATE intermediate.int_census_plans SET annual_cost_gbp = 0.01")
    planted = dict(warehouse_rows(data_paths, markers_sql))
    assert all(planted.values())

    placements = next(data_paths.landing.glob("870_placements_*.csv"))
    lines = placements.read_text().splitlines()
    placements.write_text(
        "\n".join(lines[:1] + lines[1 + len(lines) // 2 :]) + "\n"
    )  # the first half of the rows dropped
    ingest(defs, instance, partition_key="870")
    build_placement_marts(defs, instance)

    assert dict(warehouse_rows(data_paths, markers_sql)) == {**planted, "870": 0}  # only 870 rebuilt
    after = dict(warehouse_rows(data_paths, totals_sql))
    assert after["870"] < before["870"] and {k: after[k] for k in ("869", "871")} == {
        k: before[k] for k in ("869", "871")
    }
    versions = dict(warehouse_rows(data_paths, "SELECT DISTINCT la_code, source_sha256 FROM marts.fct_ehcp_census"))
    assert versions["870"] == RawStore(data_paths).ledger("870").events[-1]["source_sha256"]

    build_placement_marts(defs, instance, full_refresh=True)
    assert dict(warehouse_rows(data_paths, markers_sql)) == {la: 0 for la in LAS}
    assert dict(warehouse_rows(data_paths, totals_sql)) == after


def test_automation_catches_up_on_its_first_tick_and_redoes_nothing_that_is_current(pipeline_defs):
    """An ingest made while automation was off (daemon down, sensor not yet on) still reaches the
    warehouse on the sensor's first tick; when everything was built after its upstream (after `make
    demo`), the first tick requests nothing."""
    defs = pipeline_defs
    graph = defs.resolve_asset_graph()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(la_partitions.name, LAS)
        for key in graph.toposorted_asset_keys:  # everything built in order, as the demo does
            partitions = LAS if graph.get(key).partitions_def else [None]
            for partition in partitions:
                instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0

        instance.report_runless_asset_event(dg.AssetMaterialization(["raw", "placements"], partition="870"))
        catch_up = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # a sensor with no cursor yet
        assert catch_up.get_num_requested(DBT_MART) == 1 and catch_up.get_num_requested(PLAYBOOK_REPORT) == 1
        assert catch_up.get_num_requested(dg.AssetKey(["warehouse", "stg_public__caseload"])) == 0  # not downstream
