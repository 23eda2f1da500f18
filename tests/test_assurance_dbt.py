"""One owner per rule, on a built sample: dbt tests own the marts' rules (M_*), and the dbt model
fct_cross_source_checks makes the same cross-source comparisons, with the same thresholds, as the GX
warnings the LA's feedback report lists.

Synthetic returns for a few LAs → ingest → raw checks → DfE's release (if ../shared has it, else empty
public tables) → ``dbt build`` on a copy of the project, once for the module.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dbv_pipeline.assurance import data, derive
from dbv_pipeline.assurance.rules import RULES
from dbv_pipeline.assurance.validate import validate
from dbv_pipeline.public import dfe_ehcp
from dbv_pipeline.settings import PROJECT_ROOT, DataPaths
from harness.warehouse import copy_dbt_project, run_dbt

pytestmark = pytest.mark.integration

LAS = ["302", "320", "870", "212"]
MULTIPLIER = 0.02
SHARED_RELEASE = PROJECT_ROOT.parent / "shared" / "data" / "dfe_ehcp" / "education-health-and-care-plans_2025.zip"
# Each comparison: its GX suite, the derived frame's key columns and measure column, and the model's key columns.
COMPARISONS = {
    "W_CASELOAD_DFE": ("caseload_vs_dfe", ["la_code", "census_year"], "caseload_gap_ratio"),
    "W_HNB_VS_DSG": ("hnb_vs_dsg", ["la_code", "financial_year"], "spend_gap_ratio"),
    "W_ROLL_FORWARD": ("dsg_roll_forward", ["la_code", "financial_year", "scenario"], "roll_forward_gap_gbp"),
    "W_UNIT_COST": (
        "unit_cost_vs_median",
        ["la_code", "financial_year", "provision_type", "spend_type"],
        "unit_cost_ratio",
    ),
}


@dataclass(frozen=True)
class Built:
    paths: DataPaths
    project: Path
    has_public_data: bool


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    from dbv_pipeline.ingest import ingest_landing
    from dbv_pipeline.sample import generate_sample

    root = tmp_path_factory.mktemp("assurance_dbt")
    paths = DataPaths(root / "data")
    generate_sample(paths.landing, la_codes=LAS, multiplier=MULTIPLIER, variations=False, xlsx_share=0)
    ingest_landing(paths)
    data.assure_pending(paths)
    has_public = SHARED_RELEASE.exists()
    if has_public:
        dfe_ehcp.load_release(SHARED_RELEASE, paths.public)
    else:
        dfe_ehcp.write_empty(paths.public)
    project = copy_dbt_project(root / "dbt_project")
    result = run_dbt(project, paths, "build")
    assert result.returncode == 0, result.stdout[-5000:]
    return Built(paths, project, has_public)


def _gx_frames(paths: DataPaths) -> dict[str, pd.DataFrame]:
    """The frames GX validates the cross-source warnings on, as the asset checks and the feedback report do."""
    frames = {}
    for mart in ("fct_ehcp_census", "fct_hnb_spend", "fct_unit_cost"):
        frames.update(data.mart_frames(paths, mart))
    frames["dsg_roll_forward"] = derive.dsg_roll_forward(data.read_mart(paths, "fct_dsg_balance"))
    return frames


def _key(row: dict, columns: list[str]) -> tuple:
    return tuple(None if pd.isna(row[c]) else (int(row[c]) if c == "census_year" else str(row[c])) for c in columns)


# Marts changed so that some comparisons of each financial kind warn (the sample's are consistent).
INJECTED = [
    "update marts.fct_dsg_balance set cumulative_balance_gbp = cumulative_balance_gbp - 5000 where rowid % 7 = 3",
    "update marts.fct_hnb_spend set spend_gbp = spend_gbp * 1.5 where rowid % 11 = 2 and spend_type = 'OUTTURN'",
    "update marts.fct_unit_cost set unit_cost_gbp = unit_cost_gbp * 10 where rowid % 13 = 5",
]


# DfE's figure set to the sample's own caseload in even census years, so those are within 5% (the
# sample's LAs are far smaller than the real ones): in the public data GX reads and in the public mart.
SAMPLE_CASELOAD = "(select la_code, census_year, sum(ehcp_count) as n from marts.fct_ehcp_census group by all)"
MATCHED = "{t}.{code} = s.la_code and {t}.census_year = s.census_year and s.census_year % 2 = 0"
# The public data's DfE names (Parquet) and the mart's warehouse names: (table, code, total).
PUBLIC_CASELOADS = (
    ("dfe", "old_la_code", "ehcplans"),
    ("marts.fct_public_ehcp_caseload", "la_code", "total_ehcp_count"),
)


def _warehouse(built: Built, tmp_path: Path, injected: bool) -> DataPaths:
    """The built warehouse, or a copy with warnings injected and fct_cross_source_checks rebuilt on it."""
    if not injected:
        return built.paths
    paths = DataPaths(tmp_path / "data")
    shutil.copytree(built.paths.root, paths.root, ignore=shutil.ignore_patterns("landing"))
    with duckdb.connect(str(paths.warehouse)) as con:
        for sql in INJECTED:
            con.execute(sql)
        if built.has_public_data:
            caseload = paths.public / "caseload.parquet"
            con.execute(f"create temp table dfe as select * from read_parquet('{caseload}')")
            for table, code, total in PUBLIC_CASELOADS:
                con.execute(
                    f"update {table} set {total} = s.n from {SAMPLE_CASELOAD} as s "
                    f"where geographic_level = 'Local authority' and {MATCHED.format(t=table, code=code)}"
                )
            con.execute(f"copy dfe to '{caseload}' (format parquet)")
    project = copy_dbt_project(tmp_path / "dbt_project")
    result = run_dbt(project, paths, "run", "--select", "fct_cross_source_checks")
    assert result.returncode == 0, result.stdout[-5000:]
    return paths


@pytest.mark.parametrize("injected", [False, True], ids=["as-built", "warnings-injected"])
def test_cross_source_checks_agree_with_the_gx_warnings(built, tmp_path, injected):
    """Every comparison GX makes is a row of fct_cross_source_checks with the same measure, and the rows
    it breaches are exactly the rows GX warns of."""
    paths = _warehouse(built, tmp_path, injected)
    frames = _gx_frames(paths)
    warned = validate(frames, max_examples=None).warnings
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        model = con.sql("select * from marts.fct_cross_source_checks").df()
    assert set(model["rule_code"]) <= set(COMPARISONS)
    breaches = {}
    for code, (suite, keys, measure) in COMPARISONS.items():
        rows = model[model["rule_code"] == code].to_dict("records")
        got = {_key(r, keys): r for r in rows}
        assert len(got) == len(rows), code
        frame = frames[suite]
        expected = {_key(r, keys): r[measure] for r in frame.to_dict("records")}
        assert set(got) == set(expected), code
        for key, value in expected.items():
            measured = got[key]["measured_value"]
            if pd.isna(value):
                assert pd.isna(measured), (code, key)
            else:
                assert math.isclose(measured, value, rel_tol=1e-9, abs_tol=1e-6), (code, key, measured, value)
        assert {r["threshold"] for r in rows} <= {RULES[code].threshold}, code
        gx = {_key(e, keys) for o in warned if o.rule_code == code for e in o.examples}
        dbt = {k for k, r in got.items() if r["is_breached"]}
        assert dbt == gx, code
        breaches[code] = (len(dbt), len(got))
    # the sample has comparisons of every kind (caseload only with DfE's data) and some of them warn
    kinds = {"W_HNB_VS_DSG", "W_ROLL_FORWARD", "W_UNIT_COST"} | ({"W_CASELOAD_DFE"} if built.has_public_data else set())
    assert {c for c, (_, n) in breaches.items() if n} >= kinds
    if injected:
        assert {c for c, (b, n) in breaches.items() if 0 < b < n} >= kinds
    print("breached / compared:", breaches)


def test_the_model_reads_its_thresholds_from_the_contract(built):
    with duckdb.connect(str(built.paths.warehouse), read_only=True) as con:
        seed = dict(con.sql("select rule_code, threshold from reference.assurance_thresholds").fetchall())
    assert seed == {code: RULES[code].threshold for code in COMPARISONS}


# A corruption of a built mart per rule; each must fail a dbt test carrying that rule's code.
CORRUPTIONS = {
    "M_CODE": "update marts.fct_ehcp_census set age_group = 'AGE_99' where rowid = 0",
    "M_KEY": "insert into marts.fct_hnb_spend select * from marts.fct_hnb_spend limit 1",
    "M_REQUIRED": "update marts.fct_dsg_balance set cumulative_balance_gbp = null where rowid = 0",
    "M_RANGE": "update marts.fct_dsg_balance set hnb_income_gbp = -1 where rowid = 1",
    "M_COLUMN": "alter table marts.fct_unit_cost drop column mean_placement_cost_gbp",
}
EXPECTED_FAILURES = {
    ("fct_ehcp_census", "M_CODE"),
    ("fct_hnb_spend", "M_KEY"),
    ("fct_dsg_balance", "M_REQUIRED"),
    ("fct_dsg_balance", "M_RANGE"),
    ("fct_unit_cost", "M_COLUMN"),
}
MARTS = ["fct_ehcp_census", "fct_hnb_spend", "fct_unit_cost", "fct_dsg_balance"]


def _failed_rule_tests(project: Path) -> set[tuple[str, str]]:
    """(mart, rule code) of each dbt test that failed or errored in the last run."""
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    failed = set()
    for r in results:
        node = manifest["nodes"].get(r["unique_id"], {})
        code = node.get("config", {}).get("meta", {}).get("rule_code")
        if code and r["status"] in ("fail", "error"):
            failed.add((node["attached_node"].split(".")[-1], code))
    return failed


def test_dbt_tests_pass_on_the_built_marts_and_fail_on_a_broken_rule(built, tmp_path):
    select = ["--select", *MARTS, "--indirect-selection", "eager"]
    assert run_dbt(built.project, built.paths, "test", *select).returncode == 0
    assert _failed_rule_tests(built.project) == set()
    # a copy of the warehouse with one rule broken per mart
    paths = DataPaths(tmp_path / "data")
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(built.paths.warehouse, paths.warehouse)
    with duckdb.connect(str(paths.warehouse)) as con:
        for sql in CORRUPTIONS.values():
            con.execute(sql)
    project = copy_dbt_project(tmp_path / "dbt_project")
    assert run_dbt(project, paths, "test", *select).returncode == 1
    assert _failed_rule_tests(project) == EXPECTED_FAILURES
