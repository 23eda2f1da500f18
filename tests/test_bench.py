"""The benchmark harness at tiny scale: every scenario and stage runs and is measured (timings not judged)."""

from __future__ import annotations

import json

import pytest

from bench.run import SCENARIOS, STAGES, main


@pytest.mark.slow
def test_bench_measures_every_stage_of_every_scenario(tmp_path):
    out = tmp_path / "results"
    assert main(["--las", "3", "--multiplier", "0.02", "--skip-5x", "--workdir", str(tmp_path / "work"), "--out", str(out)]) == 0

    results = json.loads((out / "results.json").read_text())
    [size] = results["sizes"].values()
    assert size["sample"]["la_count"] == 3
    for scenario in SCENARIOS:
        stages = size["scenarios"][scenario]["stages"]
        assert list(stages) == list(STAGES)
        for name, stage in stages.items():
            assert stage["success"], stage.get("log")
            if not (scenario == "no_change" and name != "ingest"):
                assert stage["wall_s"] > 0 and stage["peak_mib"] > 0 and stage["run_s"] > 0
    stages = {scenario: size["scenarios"][scenario]["stages"] for scenario in SCENARIOS}
    assert stages["resubmission"]["ingest"]["did"]["files"] == 1
    # nothing new: as deployed, nothing downstream of the ingest runs
    assert stages["no_change"]["ingest"]["did"]["assets"] == 0
    assert all(stages["no_change"][name]["skipped"] for name in STAGES[1:])
    # a resubmission rebuilds what is downstream of the raw layer, not the public data
    assert "dfe_ehcp_release" in stages["full"]["dbt"]["steps"]
    assert "dfe_ehcp_release" not in stages["resubmission"]["dbt"]["steps"]
    assert {t["target"].split(" (")[0] for t in results["targets"]} >= {"full rebuild, landing to playbook",
                                                                         "one LA's resubmission, end to end"}
    assert "| ingest |" in (out / "results.md").read_text()
