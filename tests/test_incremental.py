"""Incrementality: a resubmission re-runs only its LA; a no-change rerun does nothing expensive."""

from __future__ import annotations

import dagster as dg
import pytest

from dbv_pipeline.ingest.assets import landing_sensor, la_partitions
from dbv_pipeline.ingest.raw_store import RawStore
from dbv_pipeline.sample import generate_sample

LAS = ["869", "870", "871"]
ALL_LAS = {"dagster/asset_partition_range_start": "869", "dagster/asset_partition_range_end": "871"}
DBT_MART = dg.AssetKey(["warehouse", "fct_ehcp_census"])


@pytest.fixture
def pipeline(data_paths):
    from dbv_pipeline.definitions import defs

    generate_sample(data_paths.landing, la_codes=LAS, multiplier=0.02, variations=False, xlsx_share=0)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(la_partitions.name, LAS)
        yield defs, instance


def ingest(defs, instance, **kwargs) -> dg.ExecuteInProcessResult:
    result = defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, **kwargs)
    assert result.success
    return result


def test_a_resubmission_reruns_only_its_la_and_no_change_reruns_nothing(pipeline, data_paths):
    defs, instance = pipeline
    ingest(defs, instance, tags=ALL_LAS)
    store = RawStore(data_paths)
    ledger_files = {la: data_paths.raw / "submissions" / f"{la}.parquet" for la in LAS}
    events = {la: len(store.ledger(la).events) for la in LAS}
    written = {la: path.stat().st_mtime_ns for la, path in ledger_files.items()}
    sensor_cursor = landing_sensor(dg.build_sensor_context(instance=instance)).cursor
    automation = dg.evaluate_automation_conditions(defs=defs, instance=instance)

    # No change: the sensor skips; ingesting every LA again reprocesses no file and materialises
    # nothing, so the warehouse is not requested.
    assert isinstance(landing_sensor(dg.build_sensor_context(instance=instance, cursor=sensor_cursor)), dg.SkipReason)
    rerun = ingest(defs, instance, tags=ALL_LAS)
    assert rerun.asset_materializations_for_node("raw_returns") == []
    assert {la: path.stat().st_mtime_ns for la, path in ledger_files.items()} == written
    automation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
    assert automation.get_num_requested(DBT_MART) == 0

    # One LA resubmits: the sensor asks for its partition only, and only its ledger changes.
    placements = next(data_paths.landing.glob("870_placements_*.csv"))
    placements.write_text(placements.read_text().rstrip("\n").rsplit("\n", 1)[0] + "\n")  # the last row dropped
    requests = landing_sensor(dg.build_sensor_context(instance=instance, cursor=sensor_cursor)).run_requests
    assert [r.partition_key for r in requests] == ["870"]
    resubmission = ingest(defs, instance, partition_key="870")
    assert {m.partition for m in resubmission.asset_materializations_for_node("raw_returns")} == {"870"}
    assert {la: len(store.ledger(la).events) for la in LAS} == {**events, "870": events["870"] + 1}
    assert [la for la, path in ledger_files.items() if path.stat().st_mtime_ns != written[la]] == ["870"]

    # ...and the warehouse is requested once, to take it in.
    automation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
    assert automation.get_num_requested(DBT_MART) == 1
