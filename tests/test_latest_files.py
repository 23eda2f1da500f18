"""The ledger's check `latest_files_accepted`: an LA whose latest file was rejected is flagged (WARN,
never blocking) until an accepted file follows; it runs in the ingest job, over every LA's ledger."""

from __future__ import annotations

import os

import dagster as dg

from dbv_pipeline.assurance.latest_files import CHECK_NAME, LEDGER_KEY, latest_files_accepted
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.ingest.assets import la_partitions, raw_returns
from dbv_pipeline.ingest.filenames import UNATTRIBUTED
from tests.conftest import PLACEMENT_HEADER, placement, write_csv
from tests.test_assurance_gx_rules import HNB

CHECK = dg.AssetCheckKey(LEDGER_KEY, CHECK_NAME)


def land(path, rows, header=None, *, order: int):
    """Write a landing file; ``order`` sets its modification time, the order the ingest takes files in."""
    write_csv(path, rows, header)
    os.utime(path, ns=(1_700_000_000 * 10**9 + order, 1_700_000_000 * 10**9 + order))


def evaluation(result) -> dg.AssetCheckEvaluation:
    [found] = [e for e in result.get_asset_check_evaluations() if e.asset_check_key == CHECK]
    return found


@dg.asset(deps=[LEDGER_KEY])
def after_submissions():
    return None


def run(instance, resources, la: str):
    return dg.materialize(
        [raw_returns, latest_files_accepted, after_submissions],
        instance=instance,
        resources=resources,
        partition_key=la,
        raise_on_error=False,
    )


def test_the_check_is_in_the_ingest_job_and_does_not_block(pipeline_defs):
    job = pipeline_defs.resolve_job_def("ingest_job")
    assert CHECK in job.asset_layer.asset_graph.asset_check_keys
    spec = pipeline_defs.resolve_asset_graph().get(CHECK)
    assert not spec.blocking and "Never blocks" in spec.description


def test_an_la_whose_latest_file_was_rejected_is_flagged_until_an_accepted_file_follows(
    data_paths, resources, pipeline_defs
):
    landing = data_paths.landing
    no_sex = [h for h in PLACEMENT_HEADER if h != "sex"]
    land(landing / "870_placements_2024-25.csv", [placement(la_code="870")], order=0)
    land(landing / "869_hnb_spend_2024-25.csv", [HNB], order=1)  # accepted, before the rejections
    land(landing / "869_placements_2024-25.csv", [placement()], no_sex, order=2)  # rejected: no sex column
    land(landing / "869_placements_2024.csv", [placement()], order=3)  # rejected whole: not a financial year
    land(landing / "placements.csv", [placement()], order=4)  # names no LA
    ingest_landing(data_paths, [UNATTRIBUTED], workers=1)

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(la_partitions.name, ["869", "870"])
        ingest_job = pipeline_defs.resolve_job_def("ingest_job")

        passed = evaluation(ingest_job.execute_in_process(instance=instance, partition_key="870"))
        assert passed.passed, passed.description  # LA 869 has not been ingested yet
        assert passed.metadata["las_checked"].value == 1 and passed.metadata["unattributed_rejected"].value == 1

        result = ingest_job.execute_in_process(instance=instance, partition_key="869", raise_on_error=False)
        flagged = evaluation(result)
        assert not flagged.passed and flagged.severity == dg.AssetCheckSeverity.WARN
        assert "1 of 2 LAs has a rejected latest file (2 files): " in flagged.description
        assert (
            "LA 869: 869_placements_2024-25.csv rejected: Required column sex is missing from the header"
            in flagged.description
        )
        assert (
            "LA 869: 869_placements_2024.csv rejected: The period in the file name is not a financial year"
            in flagged.description
        )
        assert "LA 870" not in flagged.description and "LA unattributed" not in flagged.description
        assert flagged.description.endswith("1 file naming no LA was rejected (see metadata)")
        table = flagged.metadata["rejected_latest"].value
        assert "| 869 | 869_placements_2024-25.csv | placements | 2024-25 |" in table
        assert flagged.metadata["las_flagged"].value == 1 and flagged.metadata["files_rejected"].value == 2
        assert "| unattributed | placements.csv |" in flagged.metadata["unattributed"].value
        assert result.success  # WARN does not fail the run
        assert {e.asset_key for e in result.get_asset_materialization_events()} >= {
            dg.AssetKey(["reports", "feedback"])
        }

        # A later accepted file of another table clears the file rejected before its table was known, not
        # the placements file.
        land(landing / "869_hnb_spend_2024-25.csv", [HNB, {**HNB, "provision_type": "CENTRAL"}], order=5)
        result = run(instance, resources, "869")
        still = evaluation(result)
        assert not still.passed and still.metadata["files_rejected"].value == 1
        assert "869_placements_2024-25.csv rejected" in still.description and "2024.csv" not in still.description
        assert "after_submissions" in {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}

        land(landing / "869_placements_2024-25.csv", [placement()], order=6)  # corrected and resent
        cleared = evaluation(run(instance, resources, "869"))
        assert cleared.passed and cleared.metadata["las_flagged"].value == 0
        assert cleared.description.startswith(
            "Passed: every LA's latest file for each table and period was accepted (2 LAs)"
        )
