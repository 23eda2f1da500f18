"""The benchmark harness at tiny scale: every scenario and stage runs and is measured (timings not judged)."""

from __future__ import annotations

import json

import pytest

from bench.run import RUNS, SCENARIOS, STAGES, main


@pytest.mark.slow
def test_bench_measures_every_stage_of_every_scenario(tmp_path):
    out = tmp_path / "results"
    assert (
        main(
            ["--las", "3", "--multiplier", "0.02", "--skip-5x", "--workdir", str(tmp_path / "work"), "--out", str(out)]
        )
        == 0
    )

    results = json.loads((out / "results.json").read_text())
    [size] = results["sizes"].values()
    assert size["sample"]["la_count"] == 3
    for name in SCENARIOS:
        scenario = size["scenarios"][name]
        assert scenario["success"], [run.get("log") for run in scenario["runs"].values()]
        assert list(scenario["runs"]) == list(RUNS) and list(scenario["stages"]) == list(STAGES)
        for run in scenario["runs"].values():
            if not run.get("skipped"):
                assert run["wall_s"] > run["run_s"] > 0 and run["peak_mib"] > 0
    stages = {name: size["scenarios"][name]["stages"] for name in SCENARIOS}
    for name in ("full", "resubmission"):
        assert all(stages[name][stage]["run_s"] > 0 and stages[name][stage]["peak_mib"] > 0 for stage in STAGES)
    assert stages["resubmission"]["ingest"]["did"]["files"] == 1
    # nothing new: the ingest materialises nothing, runs no check or report, and no warehouse run follows
    assert not stages["no_change"]["ingest"]["did"].get("assets")
    assert not stages["no_change"]["assurance"]["did"].get("checks")
    assert size["scenarios"]["no_change"]["runs"]["warehouse"]["skipped"]
    # a resubmission rebuilds what is downstream of the raw layer, not the public data
    assert "dfe_ehcp_release" in stages["full"]["dbt"]["steps"]
    assert "dfe_ehcp_release" not in stages["resubmission"]["dbt"]["steps"]
    assert "warehouse_dbt_assets" in stages["resubmission"]["dbt"]["steps"]
    assert {t["target"].split(" (")[0] for t in results["targets"]} >= {
        "full rebuild, landing to playbook",
        "one LA's resubmission, end to end",
    }
    assert "| ingest (ingest) |" in (out / "results.md").read_text()


def test_the_spark_bench_reports_both_engines_on_the_same_sample(tmp_path):
    """``--engine spark``: the full build and the resubmission beside DuckDB's figures for the same LAs."""
    from bench.run import duckdb_summary, engines_section

    def size(la_count: int, full: float, resubmission: float) -> dict:
        scenarios = {
            name: {"success": True, "wall_s": wall, "run_s": wall - 5, "peak_mib": 1000.0}
            for name, wall in (("full", full), ("resubmission", resubmission))
        }
        return {"sample": {"la_count": la_count}, "scenarios": scenarios}

    duck = tmp_path / "results.json"
    duck.write_text(json.dumps({"finished": "then", "git": {"commit": "abc"}, "sizes": {"1x": size(153, 100, 40)}}))
    spark = {"engine": "spark", "duckdb": duckdb_summary(duck), "sizes": {"1x": size(153, 250, 120)}}
    table = "\n".join(engines_section(spark))
    assert "| 1x (153 LAs) | full | 100 | 1000 | 250 | 1000 | 2.5× |" in table
    assert "| 1x (153 LAs) | resubmission | 40 | 1000 | 120 | 1000 | 3.0× |" in table
    spark["sizes"]["1x"]["sample"]["la_count"] = 10  # another sample: not compared
    assert "| 1x" not in "\n".join(engines_section(spark))
    assert engines_section({**spark, "engine": "duckdb"}) == []
