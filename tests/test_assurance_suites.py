"""GX suites: generated from the contract and in sync with it, loaded from JSON, failing loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dbv_pipeline.assurance import suites
from dbv_pipeline.assurance.validate import SuiteError, load_suite, load_suite_dict, validate
from dbv_pipeline.contract import TABLES
from dbv_pipeline.settings import EXPECTATIONS_DIR, DataPaths


def test_stored_suites_are_in_sync_with_the_contract():
    assert suites.out_of_sync() == [], "run: python -m dbv_pipeline.assurance.suites"
    assert suites.main(["--check"]) == 0


def test_there_is_a_suite_per_return_table_and_cross_source_comparison_and_none_for_marts():
    names = {p.stem for p in EXPECTATIONS_DIR.glob("*.json")}
    assert names == {f"raw_{t}" for t in TABLES} | {
        "dsg_roll_forward",
        "caseload_vs_dfe",
        "hnb_vs_dsg",
        "unit_cost_vs_median",
    }  # the marts' own rules (M_*) are dbt tests


def test_check_reports_a_stale_suite(tmp_path):
    suites.write_suites(tmp_path)
    assert suites.out_of_sync(tmp_path) == []
    data = json.loads((tmp_path / "raw_placements.json").read_text())
    data["expectations"].pop()
    (tmp_path / "raw_placements.json").write_text(json.dumps(data))
    (tmp_path / "stray.json").write_text("{}")
    assert suites.out_of_sync(tmp_path) == ["raw_placements", "stray"]
    assert suites.main(["--check", "--dir", str(tmp_path)]) == 1


@pytest.mark.parametrize("name", sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json")))
def test_each_suite_loads_in_gx_and_round_trips(name):
    stored = load_suite_dict(name)
    suite = load_suite(name)
    again = suite.to_json_dict()
    assert [(e["type"], e["kwargs"], e["meta"]) for e in again["expectations"]] == [
        (e["type"], e["kwargs"], e["meta"]) for e in stored["expectations"]
    ]
    assert all(e["meta"]["severity"] in ("error", "warning") and e["meta"]["rule_code"] for e in stored["expectations"])


def write_suite(directory: Path, expectations: list[dict], name: str = "broken") -> str:
    (directory / f"{name}.json").write_text(json.dumps({"name": name, "expectations": expectations}))
    return name


NEGATIVE = {
    "type": "expect_column_values_to_be_between",
    "kwargs": {"column": "spend_gbp", "min_value": 0},
    "meta": {"rule_code": "W_NEGATIVE_SPEND", "severity": "warning"},
}


def test_bad_json_fails_loudly(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(SuiteError, match="not valid JSON"):
        load_suite("broken", tmp_path)


def test_missing_suite_fails_loudly(tmp_path):
    with pytest.raises(SuiteError, match="does not exist"):
        validate({"nowhere": pd.DataFrame()}, directory=tmp_path)


def test_unknown_expectation_type_fails_loudly(tmp_path):
    write_suite(tmp_path, [{**NEGATIVE, "type": "expect_spend_to_be_sensible"}])
    with pytest.raises(SuiteError, match="expect_spend_to_be_sensible"):
        load_suite("broken", tmp_path)


def test_bad_expectation_arguments_fail_loudly(tmp_path):
    write_suite(tmp_path, [{**NEGATIVE, "kwargs": {"colum": "spend_gbp", "min_value": 0}}])
    with pytest.raises(SuiteError, match="colum"):
        load_suite("broken", tmp_path)


def test_rule_code_must_be_a_gx_rule_with_its_severity(tmp_path):
    write_suite(tmp_path, [{**NEGATIVE, "meta": {"rule_code": "R_CODE", "severity": "warning"}}])
    with pytest.raises(SuiteError, match="not a GX rule"):
        load_suite("broken", tmp_path)
    write_suite(tmp_path, [{**NEGATIVE, "meta": {"rule_code": "W_NEGATIVE_SPEND", "severity": "error"}}])
    with pytest.raises(SuiteError, match="severity"):
        load_suite("broken", tmp_path)
    write_suite(tmp_path, [])
    with pytest.raises(SuiteError, match="no expectations"):
        load_suite("broken", tmp_path)


def test_a_missing_column_fails_with_a_clear_message(tmp_path):
    write_suite(tmp_path, [NEGATIVE])
    result = validate({"broken": pd.DataFrame({"other": [1.0]})}, directory=tmp_path)
    assert not result.passed
    [error] = result.errors
    assert error.rule_code == "W_NEGATIVE_SPEND" and 'The column "spend_gbp"' in error.exception
    assert "does not exist" in result.summary()


def test_an_expectation_that_raised_is_a_failure_even_when_it_is_a_warning(tmp_path):
    write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_in_type_list",
                "kwargs": {"column": "spend_gbp", "type_list": ["no_such_type"]},
                "meta": {"rule_code": "W_NEGATIVE_SPEND", "severity": "warning"},
            }
        ],
    )
    result = validate({"broken": pd.DataFrame({"spend_gbp": ["1"]}, dtype=object)}, directory=tmp_path)
    [error] = result.outcomes
    assert error.exception and not error.success and error.blocking
    assert not result.passed and result.warnings == []


def test_a_warning_does_not_fail_the_result_and_an_error_does(tmp_path):
    write_suite(
        tmp_path,
        [
            NEGATIVE,
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "la_code"},
                "meta": {"rule_code": "C_REQUIRED", "severity": "error"},
            },
        ],
    )
    frame = pd.DataFrame({"la_code": ["869", "869"], "spend_gbp": [-5.0, 3.0], "source_line": [2, 3]})
    result = validate({"broken": frame}, directory=tmp_path)
    assert result.passed and [w.rule_code for w in result.warnings] == ["W_NEGATIVE_SPEND"]
    assert result.warnings[0].examples == [{"la_code": "869", "source_line": 2, "spend_gbp": -5.0}]
    result = validate({"broken": frame.assign(la_code=[None, "869"])}, directory=tmp_path)
    assert not result.passed and [e.rule_code for e in result.errors] == ["C_REQUIRED"]


def test_data_docs_are_built_for_each_run(tmp_path):
    paths = DataPaths(tmp_path / "data")
    frame = pd.DataFrame({"spend_gbp": [1.0]})
    write_suite(tmp_path, [NEGATIVE])
    first = validate({"broken": frame}, directory=tmp_path, paths=paths, run_name="first")
    second = validate({"broken": frame}, directory=tmp_path, paths=paths, run_name="second")
    assert first.data_docs == second.data_docs == paths.reports / "data_docs" / "index.html"
    index = second.data_docs.read_text(encoding="utf-8")
    assert "first" in index and "second" in index  # the index lists every run, not only the last
    assert len(list((paths.reports / "data_docs" / "validations" / "broken").iterdir())) == 2
