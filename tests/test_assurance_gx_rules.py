"""Each GX rule: a case where it fires and one where it does not (warnings at their thresholds,
conformance errors on the loaded raw layer, mart errors)."""

from __future__ import annotations

import pandas as pd
import pytest

from dbv_pipeline.assurance import data, derive
from dbv_pipeline.assurance.validate import Result, validate
from dbv_pipeline.ingest import ingest_landing
from dbv_pipeline.settings import DataPaths
from tests.conftest import RECEIVED, placement, write_csv

HNB = {
    "la_code": "869",
    "financial_year": "2023-24",
    "provision_type": "MSS",
    "spend_type": "OUTTURN",
    "spend_gbp": "1000000",
    "s251_line": "",
}
DSG = {
    "la_code": "869",
    "financial_year": "2023-24",
    "scenario": "ACTUAL",
    "hnb_income_gbp": "50000000",
    "hnb_expenditure_gbp": "55000000",
    "in_year_balance_gbp": "-5000000",
    "cumulative_balance_gbp": "-9000000",
}
MIT = {
    "la_code": "869",
    "mitigation_id": "M1",
    "line_of_enquiry": "2",
    "title": "Inclusion in mainstream",
    "status": "ASSESSED",
    "financial_year": "2025-26",
    "saving_gbp": "250000",
    "dbv_grant_gbp": "",
}


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """Clean loaded raw frames of one LA, as the checks read them."""
    paths = DataPaths(tmp_path_factory.mktemp("raw") / "data")
    land = paths.landing
    write_csv(land / "869_placements_2024-25.csv", [placement(f"C{i:04d}") for i in range(1, 4)])
    write_csv(land / "869_hnb_spend_2024-25.csv", [HNB, {**HNB, "provision_type": "CENTRAL", "s251_line": "1.2.3"}])
    write_csv(
        land / "869_dsg_plan_2024-25.csv",
        [DSG, {**DSG, "financial_year": "2024-25", "cumulative_balance_gbp": "-14000000"}],
    )
    write_csv(land / "869_mitigations_2024-25.csv", [MIT, {**MIT, "mitigation_id": "M2"}])
    summary = ingest_landing(paths, received_at=RECEIVED)
    assert {f.outcome for f in summary.files} == {"loaded"}
    return {
        t: data.read_raw(paths, t, data.current_files(paths, t))
        for t in ("placements", "hnb_spend", "dsg_plan", "mitigations")
    }


def run(suite: str, frame: pd.DataFrame) -> Result:
    return validate({suite: frame})


def failed(result: Result) -> set[str]:
    return {o.rule_code for o in result.errors + result.warnings}


# --- conformance of the loaded raw layer (errors) ------------------------------------------------


def test_clean_raw_tables_pass_every_raw_suite(raw):
    for table, frame in raw.items():
        result = validate(data.raw_frames(table, frame=frame))
        assert result.passed and not result.warnings, result.summary()


CORRUPTIONS = [
    # (rule code, table, how the loaded frame is corrupted)
    ("C_COLUMN", "placements", lambda df: df.drop(columns=["sex"])),
    ("C_COLUMN", "placements", lambda df: df.drop(columns=["source_line"])),
    ("C_TYPE", "placements", lambda df: df.assign(date_of_birth=df["date_of_birth"].astype(str))),
    ("C_TYPE", "hnb_spend", lambda df: df.assign(spend_gbp=df["spend_gbp"].astype(str))),
    ("C_TYPE", "placements", lambda df: df.assign(setting_urn=123456)),  # text loaded as a number
    ("C_REQUIRED", "placements", lambda df: df.assign(child_id=[None, *df["child_id"][1:]])),
    ("C_CODE", "placements", lambda df: df.assign(sex=["Q", *df["sex"][1:]])),
    ("C_CODE", "mitigations", lambda df: df.assign(status="DONE")),
    ("C_FORMAT", "placements", lambda df: df.assign(la_code="86")),
    ("C_FORMAT", "placements", lambda df: df.assign(child_id=["C 1", *df["child_id"][1:]])),
    ("C_FORMAT", "mitigations", lambda df: df.assign(title="x" * 201)),
    ("C_MIN", "placements", lambda df: df.assign(annual_cost_gbp=-1.0)),
    ("C_KEY", "placements", lambda df: pd.concat([df, df.iloc[:1]], ignore_index=True)),
    ("C_KEY", "hnb_spend", lambda df: df.assign(provision_type="MSS", s251_line=None, source_line=[2, 3])),
]


@pytest.mark.parametrize(
    "rule_code, table, corrupt", CORRUPTIONS, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CORRUPTIONS)]
)
def test_a_conformance_error_fails_and_blocks(raw, rule_code, table, corrupt):
    result = run(f"raw_{table}", corrupt(raw[table].copy()))
    assert not result.passed
    assert rule_code in {e.rule_code for e in result.errors}
    assert all(e.severity == "error" or e.exception for e in result.errors)


# --- W_NEGATIVE_SPEND -----------------------------------------------------------------------------


def test_negative_spend_warns_and_zero_does_not(raw):
    hnb = raw["hnb_spend"]
    assert not run("raw_hnb_spend", hnb.assign(spend_gbp=[0.0, 5.0])).warnings
    result = run("raw_hnb_spend", hnb.assign(spend_gbp=[-0.01, 5.0]))
    assert result.passed  # a warning does not block
    [warning] = result.warnings
    assert warning.rule_code == "W_NEGATIVE_SPEND" and warning.unexpected_count == 1
    assert warning.examples[0]["source_line"] == 2


# --- W_ROLL_FORWARD -------------------------------------------------------------------------------


def plan(*rows: tuple[str, str, float, float], period: str = "2024-25") -> pd.DataFrame:
    """dsg_plan rows (financial_year, scenario, in_year_balance_gbp, cumulative_balance_gbp)."""
    return pd.DataFrame(
        [
            {
                "la_code": "869",
                "return_period": period,
                "source_sha256": period,
                "source_line": i + 2,
                "financial_year": fy,
                "scenario": s,
                "in_year_balance_gbp": iy,
                "cumulative_balance_gbp": cum,
            }
            for i, (fy, s, iy, cum) in enumerate(rows)
        ]
    )


def roll_forward(frame: pd.DataFrame) -> list[tuple[str, str]]:
    result = run("dsg_roll_forward", derive.dsg_roll_forward(frame))
    return [(e["financial_year"], e["scenario"]) for w in result.warnings for e in w.examples]


def test_roll_forward_holds_and_the_first_year_is_not_checked():
    assert roll_forward(plan(("2021-22", "ACTUAL", -1, -999_999), ("2022-23", "ACTUAL", -100, -1_000_099))) == []


def test_roll_forward_tolerates_1000_and_warns_beyond():
    assert roll_forward(plan(("2022-23", "ACTUAL", 0, -500), ("2023-24", "ACTUAL", -100, -1600))) == []
    assert roll_forward(plan(("2022-23", "ACTUAL", 0, -500), ("2023-24", "ACTUAL", -100, -1600.01))) == [
        ("2023-24", "ACTUAL")
    ]
    assert roll_forward(plan(("2022-23", "ACTUAL", 0, -500), ("2023-24", "ACTUAL", -100, 400.01))) == [
        ("2023-24", "ACTUAL")
    ]


def test_forecasts_continue_from_the_last_actual_year():
    k = 1000
    rows = [
        ("2023-24", "ACTUAL", -100 * k, -1000 * k),
        ("2024-25", "UNMITIGATED", -300 * k, -1300 * k),
        ("2024-25", "MITIGATED", -200 * k, -1200 * k),
        ("2025-26", "UNMITIGATED", -400 * k, -1700 * k),
        ("2025-26", "MITIGATED", -100 * k, -1300 * k),
    ]
    assert roll_forward(plan(*rows)) == []
    # A forecast that restarts from zero instead of the last ACTUAL balance is flagged.
    rows[2] = ("2024-25", "MITIGATED", -200 * k, -200 * k)
    assert roll_forward(plan(*rows)) == [("2024-25", "MITIGATED"), ("2025-26", "MITIGATED")]


def test_forecast_without_an_actual_year_chains_within_its_scenario():
    assert roll_forward(plan(("2025-26", "MITIGATED", -10, -5000), ("2026-27", "MITIGATED", -10, -5010))) == []
    assert roll_forward(plan(("2025-26", "MITIGATED", -10, -5000), ("2026-27", "MITIGATED", -10, -9000))) == [
        ("2026-27", "MITIGATED")
    ]


def test_versions_are_not_chained_to_each_other():
    two = pd.concat(
        [
            plan(("2022-23", "ACTUAL", 0, -500), period="2023-24"),
            plan(("2023-24", "ACTUAL", -100, -99_999), period="2024-25"),
        ]
    )
    assert roll_forward(two) == []


def test_roll_forward_on_the_loaded_raw_dsg_plan(raw):
    result = validate(data.raw_frames("dsg_plan", frame=raw["dsg_plan"]))
    assert not result.warnings  # -9,000,000 then -9,000,000 - 5,000,000
    broken = raw["dsg_plan"].assign(cumulative_balance_gbp=[-9_000_000.0, -9_000_000.0])
    result = validate(data.raw_frames("dsg_plan", frame=broken))
    assert [w.rule_code for w in result.warnings] == ["W_ROLL_FORWARD"] and result.passed


# --- cross-source warnings -------------------------------------------------------------------------


def census(counts: dict[str, int], year: int = 2025) -> pd.DataFrame:
    """fct_ehcp_census rows: each LA's caseload split over two provisions."""
    return pd.DataFrame(
        [
            {
                "la_code": la,
                "census_year": year,
                "provision_type": p,
                "ehcp_count": n // 2 + (n % 2 if p == "MSS" else 0),
            }
            for la, n in counts.items()
            for p in ("MSS", "MAINSTREAM")
        ]
    )


@pytest.mark.parametrize("la_caseload, warns", [(1049, False), (1051, True), (951, False), (949, True), (1000, False)])
def test_caseload_vs_dfe_warns_beyond_5_percent(la_caseload, warns):
    dfe = pd.DataFrame({"la_code": ["869", "870"], "census_year": [2025, 2025], "dfe_caseload": [1000, 500]})
    frame = derive.caseload_vs_dfe(census({"869": la_caseload, "870": 500}), dfe)
    result = run("caseload_vs_dfe", frame)
    assert [w.rule_code for w in result.warnings] == (["W_CASELOAD_DFE"] if warns else [])
    if warns:
        assert result.warnings[0].examples[0]["la_code"] == "869"


def test_caseload_vs_dfe_compares_the_same_census_only():
    dfe = pd.DataFrame({"la_code": ["869"], "census_year": [2024], "dfe_caseload": [10]})
    assert derive.caseload_vs_dfe(census({"869": 1000}, year=2025), dfe).empty


def spend(outturn: float, budget: float = 0) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "la_code": "869",
                "financial_year": "2023-24",
                "provision_type": "MSS",
                "spend_type": "OUTTURN",
                "spend_gbp": outturn * 0.75,
            },
            {
                "la_code": "869",
                "financial_year": "2023-24",
                "provision_type": "CENTRAL",
                "spend_type": "OUTTURN",
                "spend_gbp": outturn * 0.25,
            },
            {
                "la_code": "869",
                "financial_year": "2023-24",
                "provision_type": "MSS",
                "spend_type": "BUDGET",
                "spend_gbp": budget,
            },
        ]
    )


DSG_BALANCE = pd.DataFrame(
    [
        {"la_code": "869", "financial_year": "2023-24", "scenario": "ACTUAL", "hnb_expenditure_gbp": 1_000_000.0},
        {"la_code": "869", "financial_year": "2023-24", "scenario": "UNMITIGATED", "hnb_expenditure_gbp": 9.0},
    ]
)


@pytest.mark.parametrize("outturn, warns", [(1_019_000, False), (1_021_000, True), (981_000, False), (979_000, True)])
def test_hnb_outturn_vs_dsg_actual_warns_beyond_2_percent(outturn, warns):
    frame = derive.hnb_vs_dsg(spend(outturn, budget=5_000_000), DSG_BALANCE)
    assert len(frame) == 1  # OUTTURN lines summed; BUDGET and forecast scenarios ignored
    result = run("hnb_vs_dsg", frame)
    assert [w.rule_code for w in result.warnings] == (["W_HNB_VS_DSG"] if warns else [])


def unit_costs(costs: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "la_code": la,
                "financial_year": "2023-24",
                "provision_type": "INMSS",
                "spend_type": "OUTTURN",
                "unit_cost_gbp": c,
            }
            for la, c in costs.items()
        ]
    )


@pytest.mark.parametrize("cost, warns", [(290_000, False), (300_000, False), (310_000, True)])
def test_unit_cost_warns_over_three_times_the_national_median(cost, warns):
    frame = derive.unit_cost_vs_median(
        unit_costs({"869": cost, "870": 100_000, "871": 100_000, "872": 90_000, "873": 110_000})
    )
    assert frame.loc[frame["la_code"] == "869", "national_median_gbp"].item() == 100_000
    result = run("unit_cost_vs_median", frame)
    assert [(w.rule_code, w.examples[0]["la_code"]) for w in result.warnings] == (
        [("W_UNIT_COST", "869")] if warns else []
    )


def test_unit_cost_median_is_per_provision_and_ignores_missing_costs():
    frame = derive.unit_cost_vs_median(
        pd.concat(
            [
                unit_costs({"869": 50_000, "870": None}),
                unit_costs({"869": 10_000}).assign(provision_type="MSS"),
            ]
        )
    )
    assert sorted(zip(frame["provision_type"], frame["unit_cost_ratio"])) == [("INMSS", 1.0), ("MSS", 1.0)]


# --- marts (errors) -------------------------------------------------------------------------------


def mart(name: str) -> pd.DataFrame:
    """A valid two-row frame of each key mart."""
    base = {"la_code": ["869", "870"]}
    frames = {
        "fct_ehcp_census": {
            **base,
            "census_year": [2025, 2025],
            "census_date": pd.to_datetime(["2025-01-16"] * 2),
            "provision_type": ["MSS", "MSS"],
            "primary_need": ["ASD", "ASD"],
            "age_group": ["AGE_5_10"] * 2,
            "ehcp_count": [10, 3],
        },
        "fct_hnb_spend": {
            **base,
            "financial_year": ["2023-24"] * 2,
            "provision_type": ["CENTRAL", "MSS"],
            "spend_type": ["OUTTURN"] * 2,
            "spend_gbp": [-5.0, 1e6],
            "line_count": [1, 2],
            "return_period": ["2024-25"] * 2,
        },
        "fct_unit_cost": {
            **base,
            "financial_year": ["2023-24"] * 2,
            "provision_type": ["MSS"] * 2,
            "spend_type": ["OUTTURN"] * 2,
            "spend_gbp": [1e6, 2e6],
            "start_census_ehcp_count": [10, None],
            "end_census_ehcp_count": [12, None],
            "average_ehcp_count": [11.0, None],
            "unit_cost_gbp": [90909.0, None],
            "costed_placements": [0, 0],
            "mean_placement_cost_gbp": [None, None],
        },
        "fct_dsg_balance": {
            **base,
            "financial_year": ["2023-24"] * 2,
            "scenario": ["ACTUAL", "MITIGATED"],
            "hnb_income_gbp": [5e7, 5e7],
            "hnb_expenditure_gbp": [5.5e7, 5.2e7],
            "in_year_balance_gbp": [-5e6, -2e6],
            "cumulative_balance_gbp": [-9e6, -4e6],
            "in_year_balance_pct_of_income": [-10.0, -4.0],
            "cumulative_balance_pct_of_income": [-18.0, -8.0],
            "return_period": ["2024-25"] * 2,
        },
    }
    return pd.DataFrame(frames[name])


# The marts' own rules (M_*) are dbt tests, not GX suites: tests/test_assurance_dbt.py breaks one of each
# on a built warehouse, and tests/test_rule_homes.py shows no mart rule is in both.


def test_dfe_caseload_is_the_published_la_total_per_census(tmp_path):
    paths = DataPaths(tmp_path / "data")
    assert data.dfe_caseload(paths).empty  # public data not loaded yet
    paths.public.mkdir(parents=True)
    rows = pd.DataFrame(
        {
            "geographic_level": ["Local authority"] * 3 + ["National"],
            "old_la_code": ["869", "869", "869", None],
            "census_year": [2025, 2025, 2024, 2025],
            "provision_type": ["MSS", "MAINSTREAM", "MSS", "MSS"],
            "plans": [400, 500, 380, 9],
            "ehcplans": [1100, 1100, 1000, 639_000],  # the published total, repeated on each placement row
        }
    )
    rows.to_parquet(paths.public / "caseload.parquet")
    got = data.dfe_caseload(paths).sort_values("census_year")
    assert list(zip(got["la_code"], got["census_year"], got["dfe_caseload"])) == [
        ("869", 2024, 1000),
        ("869", 2025, 1100),
    ]
