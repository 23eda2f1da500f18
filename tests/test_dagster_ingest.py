"""The ingest as Dagster runs it: LA partitions, the landing sensor, single-run backfills."""

from __future__ import annotations

import dagster as dg

from dbv_pipeline.ingest.assets import RAW_KEYS, la_partitions, landing_sensor, raw_returns
from dbv_pipeline.ingest.raw_store import RawStore
from tests.conftest import placement, write_csv


def test_sensor_adds_la_partitions_and_requests_runs_only_for_changed_las(data_paths, resources):
    write_csv(data_paths.landing / "869_placements_2024-25.csv", [placement()])
    write_csv(data_paths.landing / "870_placements_2024-25.csv", [placement(la_code="870")])
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        result = landing_sensor(context)
        assert sorted(r.partition_key for r in result.run_requests) == ["869", "870"]
        [add] = result.dynamic_partitions_requests
        assert sorted(add.partition_keys) == ["869", "870"]
        instance.add_dynamic_partitions(la_partitions.name, list(add.partition_keys))

        unchanged = landing_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
        )
        assert not unchanged.run_requests

        write_csv(
            data_paths.landing / "870_placements_2024-25.csv", [placement("C0002", la_code="870")]
        )  # a resubmission
        resubmitted = landing_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
        )
        assert [r.partition_key for r in resubmitted.run_requests] == ["870"]


def test_many_changed_las_become_one_run_over_the_partition_range(data_paths, resources):
    las = [str(la) for la in range(801, 813)]
    for la in las:
        write_csv(data_paths.landing / f"{la}_placements_2024-25.csv", [placement(la_code=la)])
    with dg.instance_for_test() as instance:
        result = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        [run] = result.run_requests
        assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
            "801",
            "812",
        )


def test_materialising_a_partition_ingests_only_that_la(data_paths, resources):
    write_csv(data_paths.landing / "869_placements_2024-25.csv", [placement(), placement("C0002", sex="X")])
    write_csv(data_paths.landing / "870_placements_2024-25.csv", [placement(la_code="870")])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(la_partitions.name, ["869", "870"])
        result = dg.materialize([raw_returns], instance=instance, resources=resources, partition_key="869")
        assert result.success
        materialised = {(m.asset_key, m.partition) for m in result.asset_materializations_for_node("raw_returns")}
        # the table it sent (with the ledger and findings), not the tables it did not send
        assert materialised == {(RAW_KEYS[name], "869") for name in ("placements", "submissions", "findings")}
        metadata = result.asset_materializations_for_node("raw_returns")[0].metadata
        assert (metadata["rows_in"].value, metadata["rows_loaded"].value, metadata["rows_rejected"].value) == (2, 1, 1)
    store = RawStore(data_paths)
    assert store.ledger("869").events and not store.ledger("870").events


def test_a_single_run_backfill_ingests_every_la_in_the_range(data_paths, resources):
    for la in ("869", "870", "871"):
        write_csv(data_paths.landing / f"{la}_placements_2024-25.csv", [placement(la_code=la)])
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(la_partitions.name, ["869", "870", "871"])
        result = dg.materialize(
            [raw_returns],
            instance=instance,
            resources=resources,
            tags={"dagster/asset_partition_range_start": "869", "dagster/asset_partition_range_end": "871"},
        )
        assert result.success
        partitions = {m.partition for m in result.asset_materializations_for_node("raw_returns")}
        assert partitions == {"869", "870", "871"}
        assert len(instance.get_runs()) == 1


def test_the_sensors_first_tick_requests_only_what_the_ledger_does_not_hold(data_paths, resources):
    """After `make demo` (or a restart that lost the cursor), the landing sensor does not ingest again
    what was ingested: its first tick compares the landing folder with the ledger."""
    from dbv_pipeline.assurance.checks import validate_raw
    from dbv_pipeline.ingest import ingest_landing

    write_csv(data_paths.landing / "869_placements_2024-25.csv", [placement()])
    write_csv(data_paths.landing / "870_placements_2024-25.csv", [placement(la_code="870")])
    ingest_landing(data_paths)
    assert validate_raw(data_paths, "placements").passed  # as the run's raw checks do: the versions are assured
    write_csv(data_paths.landing / "871_placements_2024-25.csv", [placement(la_code="871")])  # arrives later
    write_csv(data_paths.landing / "870_placements_2024-25.csv", [placement("C0002", la_code="870")])  # resent, changed
    with dg.instance_for_test() as instance:
        first = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert sorted(r.partition_key for r in first.run_requests) == ["870", "871"]
        later = landing_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))
        assert not later.run_requests


def test_files_settling_on_the_first_tick_are_not_taken_for_new_later(data_paths):
    """`make demo` then `make dev` within a minute: the demo's files are still settling on the sensor's
    first tick; once settled they are compared with the ledger, not taken for new."""
    from dbv_pipeline.assurance.data import assure_pending
    from dbv_pipeline.ingest import ingest_landing
    from dbv_pipeline.settings import PipelineSettings

    write_csv(data_paths.landing / "869_placements_2024-25.csv", [placement()])
    ingest_landing(data_paths)
    assure_pending(data_paths)  # as the demo's run does: its checks passed

    def tick(settle: int, cursor=None):  # a long settle interval: the file is still settling
        settings = PipelineSettings(data_dir=str(data_paths.root), landing_settle_seconds=settle)
        return landing_sensor(
            dg.build_sensor_context(instance=instance, resources={"settings": settings}, cursor=cursor)
        )

    with dg.instance_for_test() as instance:
        first = tick(3600)
        assert not first.run_requests and "869" not in first.cursor
        assert not tick(0, first.cursor).run_requests  # settled now: the ledger has it
